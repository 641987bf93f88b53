from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "rebates"

    def ready(self) -> None:
        from oms.kernel import extensions

        from . import (
            claims_admin,  # noqa: F401  (the console's claim and settlement screens)
            subscribers,  # noqa: F401  (registers the outbox subscribers)
        )
        from .notices import ship_debit_line_notices

        # Order entry's quote shows which lines a ship-and-debit authorization covers.
        extensions.register_line_notices("rebates.ship_and_debit", ship_debit_line_notices)

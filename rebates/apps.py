from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "rebates"

    def ready(self) -> None:
        from . import (
            claims_admin,  # noqa: F401  (the console's claim and settlement screens)
            subscribers,  # noqa: F401  (registers the outbox subscribers)
        )

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers the outbox subscribers)

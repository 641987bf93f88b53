from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers the outbox subscribers)

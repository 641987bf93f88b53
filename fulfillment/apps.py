from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"

    def ready(self) -> None:
        from orders.change_cost import register_assessor

        from . import subscribers  # noqa: F401  (registers the outbox subscribers)
        from .services.change_cost import change_cost_of

        register_assessor(change_cost_of)  # a revision asks fulfillment what it costs

from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the webhook outbox subscriber)

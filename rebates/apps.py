from django.apps import AppConfig


class RebatesConfig(AppConfig):
    name = "rebates"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers the outbox subscribers)

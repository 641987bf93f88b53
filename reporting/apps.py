from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        from .reports import subscribers  # noqa: F401  (registers the rollup subscriber)

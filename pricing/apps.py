from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "pricing"

    def ready(self) -> None:
        from oms.kernel import refcache

        from . import signals
        from .snapshot import REFDATA_NAME, _version_sql

        signals.connect()
        # The rule set version is read with the other reference data of a request or task.
        refcache.register_version_source(REFDATA_NAME, _version_sql())

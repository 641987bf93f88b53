from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "oms.kernel"
    label = "kernel"
    verbose_name = "System: outbox and events"

    def ready(self) -> None:
        from . import celery_signals, metrics  # noqa: F401  (connect signal handlers)
        from .roles import connect_role_sync
        from .security import connect_lockout_log

        connect_role_sync()
        connect_lockout_log()

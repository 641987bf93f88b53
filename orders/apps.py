from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from .reference import register

        register()  # capture's configuration, cached per process (oms.kernel.refcache)

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from oms.kernel import refcache

        from .models import ChannelWarehouse, Warehouse
        from .selectors import CHANNEL_RANKINGS, channel_rankings_load

        # Capture reads the ranking on every order; rankings and warehouses change rarely.
        refcache.register(
            CHANNEL_RANKINGS, models=[ChannelWarehouse, Warehouse], loader=channel_rankings_load
        )

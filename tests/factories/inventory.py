"""Plain inventory reference data (stock itself is received through services)."""

from __future__ import annotations

from decimal import Decimal

import factory

from inventory.models import ReorderRule, Warehouse, WarehouseType


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"wh-{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    type = WarehouseType.DISTRIBUTION_CENTER
    country = "US"
    region = "NJ"
    postcode = "08837"
    latitude = Decimal("40.518700")
    longitude = Decimal("-74.412100")


class ReorderRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReorderRule

    product = factory.SubFactory("tests.factories.catalog.ProductFactory")
    warehouse = factory.SubFactory(WarehouseFactory)
    reorder_point = Decimal("10")
    order_up_to = Decimal("50")
    lead_time_days = 5

"""Plain orchestration reference data (definitions are built through `definition_create`)."""

from __future__ import annotations

import factory

from fulfillment.models import AssignmentRule, ProductSupply
from fulfillment.states import FulfillmentMode


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    priority = 100
    process_code = "ship-from-warehouse"


class ProductSupplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductSupply
        django_get_or_create = ["product"]

    product = factory.SubFactory("tests.factories.catalog.ProductFactory")
    mode = FulfillmentMode.DROP_SHIP
    supplier = factory.SubFactory("tests.factories.catalog.SupplierFactory")
    lead_time_days = 5

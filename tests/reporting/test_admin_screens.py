"""The catalog, customer and inventory admin screens render on seeded data (list, import, change)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from inventory.models import StockPosition

pytestmark = pytest.mark.integration

CHANGELISTS = [
    "catalog_product", "catalog_brand", "catalog_category", "catalog_supplier", "catalog_unitofmeasure",
    "catalog_uomconversion", "catalog_taxclass", "customers_customer", "customers_customersite",
    "customers_contact", "customers_creditexposure", "inventory_warehouse", "inventory_stockposition",
    "inventory_stockmovement",
]  # fmt: skip


@pytest.mark.django_db
def test_admin_screens_render(admin_client):
    call_command("seed_demo", stdout=StringIO())
    for name in CHANGELISTS:
        response = admin_client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200, name
    for name in ("catalog_product", "customers_customer"):
        assert admin_client.get(reverse(f"admin:{name}_import")).status_code == 200
    customer = Customer.objects.filter(account_number__isnull=False).first()
    assert admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk])).status_code == 200
    position = StockPosition.objects.first()
    assert (
        admin_client.get(reverse("admin:inventory_stockposition_change", args=[position.pk])).status_code
        == 200
    )

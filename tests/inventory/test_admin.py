"""The inventory console screens render, and their actions go through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import PurchaseOrder, PurchaseOrderLine
from inventory.services import (
    PurchaseLineInput,
    ReserveLine,
    TransferLineInput,
    backorder_create,
    purchase_order_create,
    stock_receive,
    stock_reserve,
    transfer_create,
)
from tests.factories.catalog import ProductFactory, SupplierFactory
from tests.factories.inventory import ReorderRuleFactory, WarehouseFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SCREENS = [
    "reservation", "demand", "channelwarehouse", "allocationrule", "reorderrule", "purchaseorder",
    "transfer", "documentevent", "stockposition",
]  # fmt: skip


def test_inventory_screens_render_and_po_actions_use_the_transition_service(admin_client, warehouse):
    supplier = SupplierFactory()
    p, bare = ProductFactory(), ProductFactory()
    for product in (p, bare):
        stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=3, reference="OPEN")
    stock_reserve(lines=[ReserveLine(p.pk, warehouse.pk, Decimal(1), "order_line", "1")])
    backorder_create(demand_type="order_line", demand_id="2", product_id=p.pk, quantity=5)
    rule = ReorderRuleFactory(product=p, warehouse=warehouse, preferred_supplier=supplier)
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=warehouse.pk, lines=[PurchaseLineInput(p.pk, 4)]
    )
    transfer_create(
        from_warehouse_id=warehouse.pk,
        to_warehouse_id=WarehouseFactory().pk,
        lines=[TransferLineInput(p.pk, 1)],
    )
    for name in SCREENS:
        assert admin_client.get(reverse(f"admin:inventory_{name}_changelist")).status_code == 200, name
    assert admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk])).status_code == 200
    low = admin_client.get(reverse("admin:inventory_stockposition_changelist") + "?low_stock=5")
    assert bare.sku in low.content.decode() and p.sku not in low.content.decode()
    url = reverse("admin:inventory_purchaseorder_changelist")
    admin_client.post(url, {"action": "po_to_approved", "_selected_action": [po.pk]})
    assert PurchaseOrder.objects.get(pk=po.pk).status == "approved"
    admin_client.post(
        reverse("admin:inventory_reorderrule_changelist"),
        {"action": "run_reorder_scan", "_selected_action": [rule.pk]},
    )
    assert PurchaseOrderLine.objects.filter(purchase_order__from_reorder_scan=True).exists()

"""Inventory and purchasing screens call the inventory services; the dashboard shows today's
figures and open exceptions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import PurchaseOrder, StockMovement, StockPosition, Transfer
from inventory.services import PurchaseLineInput, purchase_order_create
from inventory.states import PurchaseOrderStatus, TransferStatus
from tests.factories.catalog import SupplierFactory
from tests.factories.inventory import WarehouseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_stock_adjustment_goes_through_the_ledger(ui, login):
    client = login(ui.users.fulfillment)
    before = StockPosition.objects.get(product=ui.drill, warehouse=ui.warehouse).on_hand
    response = client.post(
        "/inventory/adjust",
        {
            "warehouse": "wh-east",
            "sku": "drill-1",
            "quantity": "-5",
            "kind": "adjustment",
            "reason": "damaged",
        },
        follow=True,
    )
    assert "on hand is now" in response.content.decode()
    assert StockPosition.objects.get(product=ui.drill, warehouse=ui.warehouse).on_hand == before - 5
    movement = StockMovement.objects.filter(kind="adjustment").get()
    assert (movement.quantity, movement.reason, movement.user) == (
        Decimal(-5),
        "damaged",
        ui.users.fulfillment,
    )
    # Below what is reserved: refused by the service, shown on the quantity with the form as
    # typed, on the same warehouse's stock; nothing moves.
    response = client.post(
        "/inventory/adjust",
        {
            "warehouse": "wh-east",
            "sku": "DRILL-1",
            "quantity": "-100000",
            "kind": "adjustment",
            "reason": "x",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="id_quantity-err">' in page
    assert 'value="-100000"' in page and 'value="DRILL-1"' in page
    assert response.context["warehouse"].code == "wh-east"
    assert StockMovement.objects.filter(kind="adjustment").count() == 1


def test_transfer_create_ship_receive(ui, login):
    WarehouseFactory(code="wh-west")
    client = login(ui.users.fulfillment)
    client.post(
        "/inventory/transfers/",
        {"from_warehouse": "wh-east", "to_warehouse": "wh-west", "sku": "SAW-1", "quantity": "4"},
    )
    transfer = Transfer.objects.get()
    client.post(f"/inventory/transfers/{transfer.pk}/ship")
    client.post(f"/inventory/transfers/{transfer.pk}/receive")
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED
    assert StockPosition.objects.get(product=ui.saw, warehouse__code="wh-west").on_hand == 4


def test_purchase_order_approve_send_receive(ui, login):
    supplier = SupplierFactory()
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=ui.warehouse.pk,
        lines=[PurchaseLineInput(product_id=ui.drill.pk, quantity=Decimal(10), unit_cost=Decimal("40"))],
    )
    client = login(ui.users.fulfillment)
    assert "Approve" in client.get(f"/inventory/purchase-orders/{po.pk}/").content.decode()
    client.post(f"/inventory/purchase-orders/{po.pk}/approve")
    client.post(f"/inventory/purchase-orders/{po.pk}/send")
    line = po.lines.get()
    on_hand = StockPosition.objects.get(product=ui.drill, warehouse=ui.warehouse).on_hand
    client.post(
        f"/inventory/purchase-orders/{po.pk}/receive", {f"receive-{line.pk}": "6", "reference": "DN-1"}
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert StockPosition.objects.get(product=ui.drill, warehouse=ui.warehouse).on_hand == on_hand + 6
    # Sending again is not in the transition table: refused, status unchanged.
    response = client.post(f"/inventory/purchase-orders/{po.pk}/send", follow=True)
    assert "msg-error" in response.content.decode()
    assert PurchaseOrder.objects.get(pk=po.pk).status == PurchaseOrderStatus.PARTIALLY_RECEIVED


def test_dashboard_shows_today_by_channel_and_open_exceptions(ui, login):
    response = login(ui.users.finance).get("/")
    ctx = response.context
    assert ctx["orders_today"] == 3
    by_channel = {(r.channel, r.currency): (r.orders, r.revenue) for r in ctx["today"]}
    assert by_channel == {("web", "USD"): (3, Decimal("250") + Decimal("150") + Decimal("6000"))}
    assert ctx["counts"]["approvals"] == 1 and ctx["counts"]["holds"] == 1
    text = response.content.decode()
    assert "vendor/chart.umd.min.js" in text and "cdn" not in text.lower()

"""The ship-from-warehouse process end to end, driven in-process step by step."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import Invoice
from fulfillment.models import FulfillmentLine, Shipment
from fulfillment.states import FulfillmentLineStatus, ProcessStatus, ShipmentStatus, StepStatus
from inventory.models import Reservation, StockMovement, StockPosition
from orders.models import SalesOrder

from .conftest import advise, order_body, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_submit_schedule_reserve_ship_invoice_close(fworld):
    client = Client()
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    line = {"source_line_id": "1", "sku": "DRILL-1", "quantity": "3", "requested_ship_date": ship_date}
    order = submit(client, fworld, order_body(lines=[line]))
    settle()
    fl = FulfillmentLine.objects.get(order_number=order["number"])
    assert fl.status == FulfillmentLineStatus.RESERVED  # waiting in PAUSE (2 days before ship date)
    assert fl.warehouse == fworld.east  # ship-to region NJ first
    wake_pauses()
    settle()
    fl.refresh_from_db()
    assert fl.status == FulfillmentLineStatus.AWAITING_SHIPPING
    shipment = Shipment.objects.get(order_number=order["number"])
    resp = advise(client, fworld, shipment=shipment.number, advice_id="A1")
    assert resp.status_code == 200, resp.content
    settle()
    fl.refresh_from_db()
    assert fl.status == FulfillmentLineStatus.CLOSED
    assert fl.process.status == ProcessStatus.COMPLETED
    assert set(fl.process.steps.values_list("status", flat=True)) == {StepStatus.COMPLETED}
    so = SalesOrder.objects.get(number=order["number"], is_current=True)
    assert so.status == "closed"
    so_line = so.lines.get()
    assert (so_line.status, so_line.shipped_quantity, so_line.billed_quantity) == (
        "closed",
        Decimal(3),
        Decimal(3),
    )
    invoice = Invoice.objects.get(order_number=so.number)
    assert invoice.total == so.total and invoice.status == "issued"
    reservation = Reservation.objects.get(demand_type="fulfillment_line", demand_id=str(fl.pk))
    assert reservation.status == "consumed" and fl.reservation_id == reservation.pk
    pos = StockPosition.objects.get(product=fworld.products["DRILL-1"], warehouse=fworld.east)
    assert (pos.on_hand, pos.reserved) == (Decimal(97), Decimal(0))
    assert (
        StockMovement.objects.filter(position=pos, kind="shipment", reference=shipment.number).get().quantity
        == -3
    )
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SHIPPED and shipment.tracking_number == "1ZA1"

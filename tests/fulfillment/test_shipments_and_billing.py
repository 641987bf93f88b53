"""Partial shipments split fulfillment lines and bill separately; the invoices of an order add up
exactly to its total; drop ship buys from the supplier; back-to-back reserves its own receipt."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import Invoice, InvoiceLine
from fulfillment.models import FulfillmentLine, Shipment
from fulfillment.states import FulfillmentLineStatus as FLS
from fulfillment.states import ProcessStatus
from inventory.models import PurchaseOrder, Reservation, StockMovement, StockPosition
from inventory.services import ReceiptInput, purchase_order_receive
from orders.models import SalesOrder

from .conftest import advise, order_body, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _ship_date(days=10) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def _open_shipment(number: str) -> Shipment:
    return Shipment.objects.filter(order_number=number, status="requested").order_by("pk").last()


def _ready_to_ship(client, world, lines) -> str:
    number = submit(client, world, order_body(lines=lines))["number"]
    settle()
    wake_pauses()
    settle()
    return number


def test_partial_shipment_splits_the_line_and_the_rest_ships_and_invoices_later(fworld):
    client = Client()
    number = _ready_to_ship(
        client,
        fworld,
        [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "5", "requested_ship_date": _ship_date()}],
    )
    first = FulfillmentLine.objects.get(order_number=number)
    shipment = _open_shipment(number)
    resp = advise(client, fworld, shipment=shipment.number, advice_id="p1", lines=[(first.pk, 2)])
    assert resp.status_code == 200, resp.content
    rest_id = resp.json()["lines"][0]["remainder_line"]
    settle()
    first.refresh_from_db()
    rest = FulfillmentLine.objects.get(pk=rest_id)
    assert (first.quantity, first.status) == (Decimal(2), FLS.CLOSED)
    assert (rest.quantity, rest.status, rest.parent_id) == (Decimal(3), FLS.AWAITING_SHIPPING, first.pk)
    assert (
        rest.process.status == ProcessStatus.RUNNING and rest.process.definition == first.process.definition
    )
    so = SalesOrder.objects.get(number=number, is_current=True)
    assert so.status == "partially_shipped" and so.lines.get().status == "partially_shipped"
    # Stock: 2 consumed now, 3 still reserved for the remainder; one invoice so far.
    pos = StockPosition.objects.get(product=fworld.products["DRILL-1"], warehouse=fworld.east)
    assert (pos.on_hand, pos.reserved) == (Decimal(98), Decimal(3))
    assert Invoice.objects.filter(order_number=number).count() == 1

    resp = advise(client, fworld, shipment=_open_shipment(number).number, advice_id="p2")
    assert resp.status_code == 200, resp.content
    settle()
    rest.refresh_from_db()
    assert rest.status == FLS.CLOSED
    invoices = list(Invoice.objects.filter(order_number=number).order_by("pk"))
    assert len(invoices) == 2
    so.refresh_from_db()
    assert so.status == "closed"
    assert sum(i.total for i in invoices) == so.total
    assert [line.quantity for i in invoices for line in i.lines.all()] == [Decimal(2), Decimal(3)]
    pos.refresh_from_db()
    assert (pos.on_hand, pos.reserved) == (Decimal(95), Decimal(0))
    assert sorted(
        StockMovement.objects.filter(position=pos, kind="shipment").values_list("quantity", flat=True)
    ) == [
        Decimal(-3),
        Decimal(-2),
    ]


def test_invoices_of_an_order_shipped_in_three_parts_add_up_exactly_to_the_order_total(fworld):
    client = Client()
    lines = [
        {"source_line_id": "1", "sku": "DRILL-1", "quantity": "7", "requested_ship_date": _ship_date()},
        {"source_line_id": "2", "sku": "SAW-1", "quantity": "3", "requested_ship_date": _ship_date()},
    ]
    number = _ready_to_ship(client, fworld, lines)
    so = SalesOrder.objects.get(number=number, is_current=True)
    assert so.shipping_total > 0 and so.tax_total > 0  # 8.25% tax, flat shipping spread over the lines
    current = {fl.source_line_id: fl for fl in FulfillmentLine.objects.filter(order_number=number)}
    # Shipment 1: 3 drills, 1 saw. Shipment 2: 2 drills, 2 saws. Shipment 3: the last 2 drills.
    plan = [[("1", "3"), ("2", "1")], [("1", "2"), ("2", "2")], [("1", "2")]]
    for i, parts in enumerate(plan, start=1):
        for source_line_id, qty in parts:
            fl = current[source_line_id]
            shipment = Shipment.objects.get(lines__fulfillment_line=fl, status="requested")
            resp = advise(
                client,
                fworld,
                shipment=shipment.number,
                advice_id=f"s{i}-{source_line_id}",
                lines=[(fl.pk, qty)],
            )
            assert resp.status_code == 200, resp.content
            remainder = resp.json()["lines"][0]["remainder_line"]
            if remainder:
                current[source_line_id] = FulfillmentLine.objects.get(pk=remainder)
        settle()
    so.refresh_from_db()
    invoices = list(Invoice.objects.filter(order_number=number))
    assert len(invoices) == 5  # one per shipped slice
    assert so.status == "closed"
    assert sum(i.total for i in invoices) == so.total
    assert sum(i.tax_total for i in invoices) == so.tax_total
    assert sum(i.shipping_total for i in invoices) == so.shipping_total
    for line in so.lines.all():
        billed = InvoiceLine.objects.filter(order_line=line)
        assert sum(b.total for b in billed) == line.line_total
        assert sum(b.quantity for b in billed) == line.quantity == line.billed_quantity
    assert len({i.number for i in invoices}) == 5 and all(i.due_date for i in invoices)


def test_drop_ship_line_buys_from_the_supplier_instead_of_reserving(fworld):
    client = Client()
    number = submit(
        client, fworld, order_body(lines=[{"source_line_id": "1", "sku": "KAYAK-1", "quantity": "2"}])
    )["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.mode == "drop_ship" and fl.process.definition.code == "drop-ship"
    assert fl.status == FLS.AWAITING_SHIPPING and fl.reservation_id is None
    po = PurchaseOrder.objects.get(pk=fl.purchase_order_id)
    assert (po.kind, po.status, po.demand_type, po.demand_id) == (
        "drop_ship",
        "sent",
        "fulfillment_line",
        str(fl.pk),
    )
    assert "Newark" in po.ship_to and po.warehouse == fworld.supplier_site
    assert not Reservation.objects.filter(demand_type="fulfillment_line").exists()
    # The supplier confirms shipment through its own credential; billing and close follow.
    shipment = _open_shipment(number)
    resp = advise(client, fworld, shipment=shipment.number, advice_id="ds1", warehouse="acme-supply")
    assert resp.status_code == 200, resp.content
    settle()
    fl.refresh_from_db()
    assert fl.status == FLS.CLOSED
    assert (
        Invoice.objects.get(order_number=number).total
        == SalesOrder.objects.get(number=number, is_current=True).total
    )
    assert not StockMovement.objects.filter(kind="shipment").exists()  # not our stock
    # Another warehouse's partner cannot touch it.
    assert (
        advise(client, fworld, shipment=shipment.number, advice_id="x", warehouse="wh-east").status_code
        == 404
    )


def test_back_to_back_line_reserves_the_receipt_of_its_own_purchase_order(fworld):
    client = Client()
    number = submit(
        client, fworld, order_body(lines=[{"source_line_id": "1", "sku": "PIANO-1", "quantity": "1"}])
    )["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.mode == "back_to_back" and fl.process.definition.code == "back-to-back"
    assert fl.status == FLS.BACKORDERED
    po = PurchaseOrder.objects.get(pk=fl.purchase_order_id)
    assert (po.kind, po.status, po.warehouse) == ("back_to_back", "sent", fworld.east)
    assert not Reservation.objects.exists()
    purchase_order_receive(
        purchase_order_id=po.pk, lines=[ReceiptInput(line_id=po.lines.get().pk, quantity=Decimal(1))]
    )
    settle()
    fl.refresh_from_db()
    reservation = Reservation.objects.get(pk=fl.reservation_id)
    assert (reservation.demand_type, reservation.demand_id, reservation.quantity) == (
        "fulfillment_line",
        str(fl.pk),
        1,
    )
    assert reservation.position.warehouse == fworld.east
    assert fl.status == FLS.AWAITING_SHIPPING
    resp = advise(client, fworld, shipment=_open_shipment(number).number, advice_id="b2b1")
    assert resp.status_code == 200, resp.content
    settle()
    fl.refresh_from_db()
    assert fl.status == FLS.CLOSED
    reservation.refresh_from_db()
    assert reservation.status == "consumed"

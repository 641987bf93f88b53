"""Change management: revisions and cancellations compensate running processes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from fulfillment.models import FulfillmentEvent, FulfillmentLine, Shipment
from fulfillment.states import FulfillmentLineStatus as FLS
from fulfillment.states import ProcessStatus, StepStatus, TaskType
from inventory.models import Reservation, StockPosition
from orders.models import SalesOrder

from .conftest import WEST_SHIP_TO, advise, order_body, post, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _line(quantity: str) -> dict:
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    return {"source_line_id": "1", "sku": "DRILL-1", "quantity": quantity, "requested_ship_date": ship_date}


def _requested(number: str) -> list[Shipment]:
    return list(Shipment.objects.filter(order_number=number).order_by("pk"))


def _reserved(world, warehouse) -> Decimal:
    return StockPosition.objects.get(product=world.products["DRILL-1"], warehouse=warehouse).reserved


def _awaiting_shipping(client, world, quantity="5") -> tuple[str, FulfillmentLine]:
    number = submit(client, world, order_body(lines=[_line(quantity)]))["number"]
    settle()
    wake_pauses()
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.status == FLS.AWAITING_SHIPPING
    return number, fl


def test_lowering_a_quantity_mid_flight_recreates_the_shipment_request_and_releases_the_surplus(fworld):
    client = Client()
    number, fl = _awaiting_shipping(client, fworld, "5")
    old_shipment = _requested(number)[0]
    assert _reserved(fworld, fworld.east) == 5

    submit(client, fworld, order_body(revision=2, lines=[_line("3")]))
    settle()

    fl.refresh_from_db()
    revision2 = SalesOrder.objects.get(number=number, is_current=True)
    assert revision2.revision == 2 and fl.order_line.order_id == revision2.pk
    assert (fl.quantity, fl.status) == (Decimal(3), FLS.AWAITING_SHIPPING)
    old_shipment.refresh_from_db()
    assert old_shipment.status == "canceled"
    shipments = _requested(number)
    assert len(shipments) == 2 and shipments[1].status == "requested"
    assert shipments[1].lines.get().quantity_requested == Decimal(3)
    reservation = Reservation.objects.get(pk=fl.reservation_id)
    assert (reservation.status, reservation.quantity) == ("active", Decimal(3))
    assert _reserved(fworld, fworld.east) == 3  # the surplus of 2 went back
    kinds = list(FulfillmentEvent.objects.filter(fulfillment_line=fl).values_list("kind", flat=True))
    assert "compensation_reservation_updated" in kinds
    assert "compensation_shipment_canceled" in kinds and "compensation_redo" in kinds
    statuses = [
        e.after["status"] for e in FulfillmentEvent.objects.filter(fulfillment_line=fl, kind="process_status")
    ]
    assert statuses[-2:] == [ProcessStatus.CHANGE_PENDING, ProcessStatus.RUNNING]
    # SCHEDULE was not redone (the quantity does not change where it ships from).
    assert fl.process.steps.get(task_type=TaskType.SCHEDULE).generation == 1
    assert fl.process.steps.get(task_type=TaskType.CREATE_SHIPMENT_REQUEST).generation == 2

    # And it finishes with the new quantity.
    assert advise(client, fworld, shipment=shipments[1].number, advice_id="c1").status_code == 200
    settle()
    revision2.refresh_from_db()
    assert revision2.status == "closed" and revision2.lines.get().shipped_quantity == 3
    assert _reserved(fworld, fworld.east) == 0


def test_changing_the_ship_to_before_shipping_reruns_scheduling(fworld):
    client = Client()
    number, fl = _awaiting_shipping(client, fworld, "2")
    assert fl.warehouse == fworld.east
    east_shipment = _requested(number)[0]

    submit(client, fworld, order_body(revision=2, lines=[_line("2")], ship_to=WEST_SHIP_TO))
    settle()
    wake_pauses()
    settle()

    fl.refresh_from_db()
    assert fl.warehouse == fworld.west and fl.status == FLS.AWAITING_SHIPPING
    east_shipment.refresh_from_db()
    assert east_shipment.status == "canceled"
    west_shipment = Shipment.objects.get(order_number=number, status="requested")
    assert west_shipment.warehouse == fworld.west
    assert _reserved(fworld, fworld.east) == 0 and _reserved(fworld, fworld.west) == 2
    schedule = fl.process.steps.get(task_type=TaskType.SCHEDULE)
    assert schedule.generation == 2 and schedule.status == StepStatus.COMPLETED
    assert Reservation.objects.filter(demand_type="fulfillment_line", status="released").count() == 1


def test_canceling_the_order_compensates_every_step(fworld):
    client = Client()
    number, fl = _awaiting_shipping(client, fworld, "4")
    resp = post(
        client, f"/api/v1/orders/{number}/cancel", {"reason": "customer changed their mind"}, fworld.web.key
    )
    assert resp.status_code == 200, resp.content
    settle()
    fl.refresh_from_db()
    assert fl.status == FLS.CANCELED and fl.process.status == ProcessStatus.CANCELED
    assert set(fl.process.steps.values_list("status", flat=True)) == {StepStatus.CANCELED}
    assert _requested(number)[0].status == "canceled"
    assert _reserved(fworld, fworld.east) == 0
    assert FulfillmentEvent.objects.filter(fulfillment_line=fl, kind="compensation_cancel").count() >= 3


def test_removing_a_line_in_a_revision_cancels_its_fulfillment(fworld):
    client = Client()
    lines = [_line("2"), {**_line("1"), "source_line_id": "2", "sku": "SAW-1"}]
    number = submit(client, fworld, order_body(lines=lines))["number"]
    settle()
    submit(client, fworld, order_body(revision=2, lines=[_line("2")]))
    settle()
    saw = FulfillmentLine.objects.get(order_number=number, source_line_id="2")
    drill = FulfillmentLine.objects.get(order_number=number, source_line_id="1")
    assert saw.status == FLS.CANCELED and saw.process.status == ProcessStatus.CANCELED
    assert drill.status == FLS.RESERVED and drill.process.status == ProcessStatus.RUNNING
    assert StockPosition.objects.get(product=fworld.products["SAW-1"], warehouse=fworld.east).reserved == 0


def test_a_revision_on_a_reserve_at_capture_channel_adopts_the_new_capture_reservation(fworld):
    from tests.orders.conftest import make_channel

    shop = make_channel("shop", reserve=True, warehouses=[fworld.east])
    client = Client()
    assert post(client, "/api/v1/orders", order_body("RC-1", lines=[_line("3")]), shop.key).status_code == 201
    settle()
    fl = FulfillmentLine.objects.get()
    first = fl.reservation_id
    assert Reservation.objects.get(pk=first).demand_type == "order_line"
    resp = post(client, "/api/v1/orders", order_body("RC-1", revision=2, lines=[_line("2")]), shop.key)
    assert resp.status_code == 201, resp.content
    settle()
    fl.refresh_from_db()
    reservation = Reservation.objects.get(pk=fl.reservation_id)
    assert reservation.pk != first and reservation.status == "active" and reservation.quantity == 2
    assert (reservation.demand_type, reservation.demand_id) == ("order_line", str(fl.order_line_id))
    assert _reserved(fworld, fworld.east) == 2  # nothing reserved twice

"""A warehouse person confirms a shipment from the staff UI (all of it, or part of it with the
rest left waiting), with tracking; billing then invoices what shipped, as for a partner's advice."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client, RequestFactory

from billing.models import Invoice
from fulfillment.models import FulfillmentLine, Shipment
from fulfillment.states import FulfillmentLineStatus, ShipmentStatus
from inventory.models import StockPosition
from oms.kernel.roles import Role, role_sync
from tests.fulfillment.conftest import build_fulfillment_world, order_body, settle, submit, wake_pauses

from .world import PASSWORD, staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def awaiting_shipment(client: Client, world, lines) -> tuple[str, Shipment]:
    """An order captured through the API and run by the workers up to "awaiting shipping"."""
    order = submit(client, world, order_body(source=f"S-{len(lines)}", lines=lines))
    settle()
    wake_pauses()
    settle()
    shipment = Shipment.objects.filter(order_number=order["number"]).order_by("pk").first()
    assert shipment is not None and shipment.status == ShipmentStatus.REQUESTED
    return order["number"], shipment


@pytest.fixture
def waiting(db):
    role_sync()
    world = build_fulfillment_world()
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    world.number, world.shipment = awaiting_shipment(
        Client(),
        world,
        [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "5", "requested_ship_date": ship_date}],
    )
    world.picker = staff_user("picker", Role.FULFILLMENT)
    world.desk = staff_user("desk", Role.ORDER_DESK)
    return world


def _client(user) -> Client:
    client = Client()
    # Through axes, which needs the request, as every staff sign-in does.
    assert client.login(
        request=RequestFactory().post("/accounts/login/"), username=user.get_username(), password=PASSWORD
    )
    return client


def _field(shipment: Shipment) -> str:
    return f"ship-{shipment.lines.get().fulfillment_line_id}"


def test_shipments_to_send_lists_the_requested_shipment_for_the_warehouse_role(waiting):
    picker = _client(waiting.picker)
    page = picker.get("/fulfillment/shipments/").content.decode()
    assert waiting.shipment.number in page and waiting.number in page and "DRILL-1 \u00d7 5" in page
    assert (
        picker.get("/fulfillment/shipments/?warehouse=nowhere")
        .content.decode()
        .count(waiting.shipment.number)
        == 0
    )
    assert _client(waiting.desk).get("/fulfillment/shipments/").status_code == 403
    assert _client(waiting.desk).post(f"/fulfillment/shipments/{waiting.shipment.number}/").status_code == 403


def test_partial_confirmation_ships_part_leaves_the_rest_waiting_and_invoices_what_shipped(waiting):
    picker = _client(waiting.picker)
    form = picker.get(f"/fulfillment/shipments/{waiting.shipment.number}/").content.decode()
    assert 'value="5"' in form  # the requested quantity is the default
    on_hand = StockPosition.objects.get(product__sku="DRILL-1", warehouse=waiting.shipment.warehouse).on_hand
    response = picker.post(
        f"/fulfillment/shipments/{waiting.shipment.number}/",
        {_field(waiting.shipment): "2", "carrier": "UPS", "tracking_number": "1ZPARTIAL"},
    )
    assert response.status_code == 302 and response["Location"] == f"/orders/{waiting.number}/"
    shipment = Shipment.objects.get(pk=waiting.shipment.pk)
    assert shipment.status == ShipmentStatus.SHIPPED and shipment.tracking_number == "1ZPARTIAL"
    assert shipment.carrier == "UPS"
    lines = FulfillmentLine.objects.filter(order_number=waiting.number).order_by("pk")
    assert [(ln.quantity, ln.status) for ln in lines] == [
        (Decimal("2"), FulfillmentLineStatus.SHIPPED),
        (Decimal("3"), FulfillmentLineStatus.AWAITING_SHIPPING),
    ]
    rest = Shipment.objects.get(order_number=waiting.number, status=ShipmentStatus.REQUESTED)
    assert rest.lines.get().quantity_requested == 3
    assert StockPosition.objects.get(pk__isnull=False, product__sku="DRILL-1",
                                     warehouse=waiting.shipment.warehouse).on_hand == on_hand - 2  # fmt: skip
    settle()  # the workers: billing invoices the shipped slice
    invoices = list(Invoice.objects.filter(order_number=waiting.number))
    assert len(invoices) == 1 and invoices[0].lines.get().quantity == 2
    panel = _client(waiting.desk).get(f"/orders/{waiting.number}/execution").content.decode()
    assert invoices[0].number in panel and "1ZPARTIAL" in panel
    # The remainder is offered for confirmation on the order, to the warehouse role only.
    assert (
        f"/fulfillment/shipments/{rest.number}/"
        in picker.get(f"/orders/{waiting.number}/execution").content.decode()
    )
    assert f"/fulfillment/shipments/{rest.number}/" not in panel


def test_full_confirmation_ships_everything(waiting):
    picker = _client(waiting.picker)
    picker.post(
        f"/fulfillment/shipments/{waiting.shipment.number}/",
        {_field(waiting.shipment): "5", "carrier": "DHL", "service": "Express", "tracking_number": "JD01"},
    )
    assert Shipment.objects.filter(order_number=waiting.number).count() == 1
    assert FulfillmentLine.objects.get(order_number=waiting.number).status == FulfillmentLineStatus.SHIPPED


@pytest.mark.parametrize(
    ("quantity", "tracking", "field", "message"),
    [
        ("6", "1Z", "ship", "At most 5, the quantity requested."),
        ("0", "1Z", "ship", "Enter a quantity above 0."),
        ("", "1Z", "ship", "Enter the quantity shipped."),
        ("2", "", "tracking_number", "Enter the tracking number."),
    ],
)
def test_a_refused_confirmation_keeps_what_was_typed_and_names_the_field(
    waiting, quantity, tracking, field, message
):
    picker = _client(waiting.picker)
    name = _field(waiting.shipment)
    response = picker.post(
        f"/fulfillment/shipments/{waiting.shipment.number}/",
        {name: quantity, "carrier": "UPS", "tracking_number": tracking},
    )
    assert response.status_code == 400
    page = response.content.decode()
    field_id = f"id_{name}" if field == "ship" else f"id_{field}"
    assert f'<p class="field-error" id="{field_id}-err">{message}</p>' in page
    assert 'value="UPS"' in page and f'name="{name}" value="{quantity}"' in page
    assert Shipment.objects.get(pk=waiting.shipment.pk).status == ShipmentStatus.REQUESTED


def test_a_second_confirmation_of_the_same_shipment_is_refused(waiting):
    picker = _client(waiting.picker)
    data = {_field(waiting.shipment): "5", "carrier": "UPS", "tracking_number": "1Z1"}
    picker.post(f"/fulfillment/shipments/{waiting.shipment.number}/", data)
    again = picker.post(f"/fulfillment/shipments/{waiting.shipment.number}/", data)
    page = again.content.decode()
    assert again.status_code == 400 and "nothing is left to confirm" in page
    assert "shipped" in page.split('role="alert"')[1].split("</div>")[0]
    assert FulfillmentLine.objects.filter(order_number=waiting.number).count() == 1


def test_shipments_to_send_page_does_not_grow_with_shipments(waiting):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    picker = _client(waiting.picker)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert picker.get("/fulfillment/shipments/").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    lines = [
        {"source_line_id": "1", "sku": "DRILL-1", "quantity": "1"},
        {"source_line_id": "2", "sku": "SAW-1", "quantity": "2"},
    ]
    awaiting_shipment(Client(), waiting, lines)
    assert Shipment.objects.filter(status=ShipmentStatus.REQUESTED).count() >= 2
    assert count() == few <= 8

"""`shipment_confirm`: a warehouse person confirms a shipment (the staff UI's path). Same shipping
as a partner's advice; every line needs a quantity in range, the carrier and tracking are
required, and a shipment is confirmed once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import Invoice
from fulfillment.models import FulfillmentEvent, FulfillmentLine, Shipment
from fulfillment.services import AdviceLine, shipment_confirm
from fulfillment.states import FulfillmentLineStatus, ShipmentStatus
from oms.kernel.exceptions import IllegalTransition, NotFound, ValidationFailed

from .conftest import order_body, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def requested(fworld):
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    lines = [
        {"source_line_id": "1", "sku": "DRILL-1", "quantity": "4", "requested_ship_date": ship_date},
        {"source_line_id": "2", "sku": "SAW-1", "quantity": "2", "requested_ship_date": ship_date},
    ]
    order = submit(Client(), fworld, order_body(lines=lines))
    settle()
    wake_pauses()
    settle()
    shipment = Shipment.objects.filter(order_number=order["number"]).order_by("pk").first()
    assert shipment.status == ShipmentStatus.REQUESTED
    return shipment


def _lines(shipment: Shipment, *quantities: str) -> list[AdviceLine]:
    sls = list(shipment.lines.order_by("pk"))
    return [AdviceLine(sl.fulfillment_line_id, Decimal(q)) for sl, q in zip(sls, quantities, strict=False)]


def _confirm(shipment: Shipment, lines, **extra):
    return shipment_confirm(
        shipment_number=shipment.number,
        actor="user:picker",
        lines=lines,
        carrier=extra.get("carrier", "UPS"),
        tracking_number=extra.get("tracking_number", "1Z9"),
    )


def test_every_line_of_the_shipment_needs_a_quantity_in_range(requested):
    """(A shipment request carries one fulfillment line: the engine requests per line.)"""
    for lines in (_lines(requested, "0"), _lines(requested, "999"), []):
        with pytest.raises(ValidationFailed) as err:
            _confirm(requested, lines)
        assert any(path.startswith("lines[") and path.endswith("].quantity") for path in err.value.fields)
    other = FulfillmentLine.objects.exclude(pk=requested.lines.get().fulfillment_line_id).first()
    with pytest.raises(ValidationFailed) as err:
        _confirm(requested, [*_lines(requested, "1"), AdviceLine(other.pk, Decimal(1))])
    assert "lines" in err.value.fields
    assert Shipment.objects.get(pk=requested.pk).status == ShipmentStatus.REQUESTED


def test_carrier_and_tracking_are_required(requested):
    full = [AdviceLine(sl.fulfillment_line_id, sl.quantity_requested) for sl in requested.lines.all()]
    with pytest.raises(ValidationFailed) as err:
        _confirm(requested, full, carrier=" ", tracking_number="")
    assert set(err.value.fields) == {"carrier", "tracking_number"}
    assert Shipment.objects.get(pk=requested.pk).status == ShipmentStatus.REQUESTED


def test_an_unknown_shipment_is_not_found(requested):
    with pytest.raises(NotFound):
        shipment_confirm(
            shipment_number="SH-NOPE", actor="user:x", lines=[], carrier="UPS", tracking_number="1"
        )


def test_confirmed_once_records_who_and_bills_what_shipped(requested):
    sl = requested.lines.order_by("pk").first()
    partial = [
        AdviceLine(line.fulfillment_line_id, line.quantity_requested if line.pk != sl.pk else Decimal(1))
        for line in requested.lines.all()
    ]
    result = _confirm(requested, partial)
    assert result["status"] == ShipmentStatus.SHIPPED
    assert [ln["remainder_line"] is not None for ln in result["lines"]].count(True) == 1
    assert FulfillmentLine.objects.get(pk=sl.fulfillment_line_id).status == FulfillmentLineStatus.SHIPPED
    shipped = FulfillmentEvent.objects.filter(kind="shipped", order_number=requested.order_number)
    assert shipped.exists() and set(shipped.values_list("actor", flat=True)) == {"user:picker"}
    with pytest.raises(IllegalTransition):
        _confirm(requested, partial)
    settle()
    invoiced = sum(
        (line.quantity for inv in Invoice.objects.filter(order_number=requested.order_number)
         for line in inv.lines.all()),
        Decimal(0),
    )  # fmt: skip
    assert invoiced == sum((al.quantity for al in partial), Decimal(0))

"""Revisions supersede with a diff; stale revisions and lowering below shipped are refused;
a channel key sees and touches only its own channel's orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.kernel.models import OutboxEvent
from orders.models import OrderLine, SalesOrder

from .conftest import api_get, api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

TWO_LINES = [
    {"source_line_id": "1", "sku": "DRILL-1", "quantity": "2"},
    {"source_line_id": "2", "sku": "SAW-1", "quantity": "1"},
]


def test_revision_2_supersedes_revision_1_and_emits_a_line_diff(client, world):
    first = api_post(client, "/api/v1/orders", order_body(lines=TWO_LINES), key=world.web.key).json()
    lines = [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "5"},
             {"source_line_id": "3", "sku": "SAW-1", "quantity": "1"}]  # fmt: skip
    second = api_post(client, "/api/v1/orders", order_body(revision=2, lines=lines), key=world.web.key)
    assert second.status_code == 201, second.content
    assert second.json()["number"] == first["number"]
    assert second.json()["revision"] == 2
    old = SalesOrder.objects.get(number=first["number"], revision=1)
    assert old.is_current is False
    assert (
        api_get(client, f"/api/v1/orders/{first['number']}?revision=1", key=world.web.key).json()["revision"]
        == 1
    )
    assert api_get(client, "/api/v1/orders/by-source/S-1", key=world.web.key).json()["revision"] == 2
    event = OutboxEvent.objects.get(topic="order.revised")
    diff = event.payload["diff"]
    assert [a["source_line_id"] for a in diff["added"]] == ["3"]
    assert [r["source_line_id"] for r in diff["removed"]] == ["2"]
    (changed,) = diff["changed"]
    assert changed["source_line_id"] == "1"
    assert set(changed["changes"]) == {"quantity"}
    assert Decimal(changed["changes"]["quantity"]["before"]) == 2
    assert Decimal(changed["changes"]["quantity"]["after"]) == 5


def test_revision_1_arriving_after_revision_2_gets_409(client, world):
    api_post(client, "/api/v1/orders", order_body(), key=world.web.key)
    api_post(client, "/api/v1/orders", order_body(revision=2), key=world.web.key)
    stale = api_post(client, "/api/v1/orders", order_body(revision=1), key=world.web.key)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_revision"
    assert SalesOrder.objects.count() == 2


def test_a_revision_lowering_a_line_below_its_shipped_quantity_is_refused(client, world):
    number = api_post(client, "/api/v1/orders", order_body(lines=TWO_LINES), key=world.web.key).json()[
        "number"
    ]
    OrderLine.objects.filter(order__number=number, source_line_id="1").update(shipped_quantity=Decimal("2"))
    lowered = [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "1"}, TWO_LINES[1]]
    response = api_post(client, "/api/v1/orders", order_body(revision=2, lines=lowered), key=world.web.key)
    assert response.status_code == 409
    body = response.json()
    assert "below the shipped quantity 2" in body["fields"]["lines[1].quantity"][0]
    assert SalesOrder.objects.filter(number=number).count() == 1
    assert SalesOrder.objects.get(number=number).is_current


def test_channel_a_cannot_read_cancel_or_hold_channel_bs_order(client, world):
    from tests.factories.orders import HoldCodeFactory

    HoldCodeFactory(code="manual")
    number = api_post(client, "/api/v1/orders", order_body(), key=world.other.key).json()["number"]
    a = world.web.key
    assert api_get(client, f"/api/v1/orders/{number}", key=a).status_code == 404
    assert api_get(client, "/api/v1/orders/by-source/S-1", key=a).status_code == 404
    assert api_get(client, "/api/v1/orders", key=a).json()["results"] == []
    cancel = api_post(client, f"/api/v1/orders/{number}/cancel", {"reason": "x"}, key=a)
    hold = api_post(client, f"/api/v1/orders/{number}/holds", {"code": "manual", "reason": "x"}, key=a)
    assert (cancel.status_code, hold.status_code) == (404, 404)
    assert cancel.json()["code"] == "not_found"
    assert SalesOrder.objects.get(number=number).status == "open"
    assert not SalesOrder.objects.get(number=number).holds.exists()
    # The owner may apply its own hold.
    own = api_post(client, f"/api/v1/orders/{number}/holds", {"code": "manual", "reason": "fraud check"},
                   key=world.other.key)  # fmt: skip
    assert own.status_code == 201, own.content


@pytest.mark.parametrize(
    "field,value",
    [("status", "shipped"), ("total", "1.00"), ("subtotal", "1.00"), ("number", "SO-1")],
)
def test_a_channel_cannot_set_status_or_totals(client, world, field, value):
    response = api_post(client, "/api/v1/orders", order_body(**{field: value}), key=world.web.key)
    assert response.status_code == 400
    assert response.json()["fields"] == {field: ["Unknown or read-only field."]}
    assert not SalesOrder.objects.exists()


def test_an_untrusted_channel_cannot_set_prices(client, world):
    body = order_body(
        lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "1", "unit_price": "0.01"}]
    )
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert response.status_code == 400
    assert response.json()["fields"] == {"lines[0].unit_price": ["This channel may not set prices."]}
    line_price = {"source_line_id": "1", "sku": "DRILL-1", "quantity": "1", "line_total": "0.01"}
    response = api_post(client, "/api/v1/orders", order_body(lines=[line_price]), key=world.web.key)
    assert response.status_code == 400
    assert "lines[0].line_total" in response.json()["fields"]
    assert not SalesOrder.objects.exists()

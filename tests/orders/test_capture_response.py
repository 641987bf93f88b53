"""The capture's 201 is rendered from the order the service wrote, without reading it back: it
must be byte for byte what GET /orders/{number} answers for the same order (address and price
breakdown keys in the order the JSON column gives them back, holds, back-orders, revisions)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from customers.models import Customer
from tests.factories.catalog import UnitOfMeasureFactory

from .conftest import ADDRESS, api_get, api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _same_as_get(client, key: str, response) -> dict:
    """Byte for byte the GET answer, plus the capture's own last member, `change_cost` (what a
    revision costs downstream; null for a first submission), which GET does not repeat."""
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    again = api_get(client, f"/api/v1/orders/{number}", key=key)
    assert again.status_code == 200
    stored = again.content[:-1]  # the GET object without its closing brace
    assert response.content.startswith(stored)
    assert response.content[len(stored) :].startswith(b',"change_cost":')
    data = response.json()
    assert list(data)[-1] == "change_cost"
    return data


def test_the_capture_answer_is_byte_for_byte_the_stored_order(client, world):
    kg = UnitOfMeasureFactory(code="KG")  # the saw is sold by weight here: 1.5 kg
    world.saw.uom = kg
    world.saw.save(update_fields=["uom"])
    world.price_list.items.filter(product=world.saw).update(uom=kg)
    body = order_body(
        ship_to=ADDRESS,
        bill_to={**ADDRESS, "line2": "Suite 4", "country": "us"},
        notes="Leave at the door",
        lines=[
            {"source_line_id": "1", "sku": "DRILL-1", "quantity": "2"},
            {"source_line_id": "2", "sku": "SAW-1", "quantity": "1.5", "ship_to": {**ADDRESS, "city": "Lee"}},
        ],
    )
    data = _same_as_get(client, world.web.key, api_post(client, "/api/v1/orders", body, key=world.web.key))
    assert data["bill_to"]["country"] == "US" and data["change_cost"] is None
    assert list(data["lines"][0]["price_breakdown"])  # a breakdown was rendered


def test_a_held_order_answers_with_its_holds_as_stored(client, world):
    Customer.objects.filter(pk=world.customer.pk).update(credit_limit=Decimal("1"))
    response = api_post(client, "/api/v1/orders", order_body(), key=world.web.key)
    data = _same_as_get(client, world.web.key, response)
    assert [h["code"] for h in data["holds"]] == ["credit"]
    assert data["holds"][0]["details"]["credit_limit"]


def test_a_back_ordered_line_and_a_consumer_answer_as_stored(client, world):
    body = order_body(
        customer={"email": "ana@mail.example", "name": "Ana Lima"},
        ship_to=ADDRESS,
        lines=[
            {"source_line_id": "1", "sku": "DRILL-1", "quantity": "501"},
            {"source_line_id": "2", "sku": "SAW-1", "quantity": "1"},
        ],
    )
    data = _same_as_get(client, world.web.key, api_post(client, "/api/v1/orders", body, key=world.web.key))
    assert [line["status"] for line in data["lines"]] == ["backordered", "open"]


def test_a_revision_and_a_trusted_price_answer_as_stored(client, world):
    first = api_post(client, "/api/v1/orders", order_body(), key=world.market.key)
    assert first.status_code == 201
    body = order_body(
        revision=2,
        lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "3", "unit_price": "80.00"}],
    )
    response = api_post(client, "/api/v1/orders", body, key=world.market.key)
    data = _same_as_get(client, world.market.key, response)
    assert data["revision"] == 2 and data["change_cost"]["total"] == "0.0000"
    assert data["lines"][0]["price_source"] == "source"


def test_shared_serializer_fields_render_what_drfs_own_per_instance_fields_do(client, world):
    from rest_framework import serializers

    from orders.api.serializers import (
        OrderHoldOutputSerializer,
        OrderLineOutputSerializer,
        OrderOutputSerializer,
    )
    from orders.selectors import order_get

    class Line(OrderLineOutputSerializer):
        fields = serializers.Serializer.fields  # DRF's own: built for each instance

    class Hold(OrderHoldOutputSerializer):
        fields = serializers.Serializer.fields

    class Order(OrderOutputSerializer):
        fields = serializers.Serializer.fields
        lines = Line(many=True)
        holds = Hold(many=True)

    Customer.objects.filter(pk=world.customer.pk).update(credit_limit=Decimal("1"))
    numbers = [
        api_post(client, "/api/v1/orders", order_body(f"S-{i}", ship_to=ADDRESS, notes=f"n{i}"),
                 key=world.web.key).json()["number"]
        for i in range(2)
    ]  # fmt: skip
    viewer = SimpleNamespace(channel=world.web.channel)
    orders = [order_get(viewer=viewer, number=n) for n in numbers]
    for order in [*orders, *orders]:  # shared fields carry nothing from one order to the next
        assert OrderOutputSerializer(order).data == Order(order).data
    assert OrderOutputSerializer(orders, many=True).data == Order(orders, many=True).data
    assert OrderOutputSerializer(orders[0]).data["notes"] == "n0"

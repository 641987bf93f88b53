"""Every bad input named in the issue: a clear 400 (413 for size, 415 for the content type) in
the one error envelope, field-level messages, and no row written."""

from __future__ import annotations

import pytest
from django.test import override_settings

from customers.models import Customer
from inventory.models import Reservation
from oms.kernel.models import OutboxEvent
from orders.models import IdempotencyKey, OrderEvent, OrderHold, OrderLine, SalesOrder
from tests.factories.catalog import ProductFactory

from .conftest import ADDRESS, api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _line(**overrides) -> dict:
    return {"source_line_id": "1", "sku": "DRILL-1", "quantity": "1", **overrides}


def _nothing_written():
    assert not SalesOrder.objects.exists()
    assert not OrderLine.objects.exists()
    assert not OrderEvent.objects.exists()
    assert not OrderHold.objects.exists()
    assert not Reservation.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="order.").exists()


def _assert_error(response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    if field is not None:
        assert field in body["fields"], body
    _nothing_written()


def test_malformed_json(client, world):
    response = api_post(client, "/api/v1/orders", None, key=world.web.key, raw='{"source_order_id": ')
    _assert_error(response, 400, "parse_error")


def test_wrong_content_type(client, world):
    response = api_post(client, "/api/v1/orders", None, key=world.web.key, raw="source_order_id=S-1",
                        content_type="text/plain")  # fmt: skip
    _assert_error(response, 415, "unsupported_media_type")


def test_unknown_sku(client, world):
    response = api_post(client, "/api/v1/orders", order_body(lines=[_line(sku="NOPE-1")]), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "lines[0].sku")


def test_inactive_sku(client, world):
    ProductFactory(sku="OLD-1", active=False)
    response = api_post(client, "/api/v1/orders", order_body(lines=[_line(sku="OLD-1")]), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "lines[0].sku")
    assert "not sold" in response.json()["fields"]["lines[0].sku"][0]


@pytest.mark.parametrize("quantity", ["-1", "0", "10000001", "1e30", "abc"])
def test_negative_zero_huge_or_non_numeric_quantity(client, world, quantity):
    response = api_post(
        client, "/api/v1/orders", order_body(lines=[_line(quantity=quantity)]), key=world.web.key
    )
    _assert_error(response, 400, "validation_failed", "lines[0].quantity")


def test_unknown_currency(client, world):
    response = api_post(client, "/api/v1/orders", order_body(currency="XYZ"), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "currency")


@pytest.mark.parametrize("missing", ["line1", "city", "country"])
def test_missing_address_parts(client, world, missing):
    address = {**ADDRESS, missing: ""}
    body = order_body(customer={"email": "new@mail.example", "name": "New"}, ship_to=address, bill_to=address)
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    _assert_error(response, 400, "validation_failed", f"ship_to.{missing}")
    assert not Customer.objects.filter(email="new@mail.example").exists()


def test_duplicate_line_ids(client, world):
    body = order_body(lines=[_line(), _line(sku="SAW-1")])
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    _assert_error(response, 400, "validation_failed", "lines[1].source_line_id")


def test_over_long_strings(client, world):
    response = api_post(client, "/api/v1/orders", order_body("S" * 65), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "source_order_id")
    response = api_post(client, "/api/v1/orders", order_body(notes="n" * 2001), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "notes")


def test_unicode_lookalikes_and_null_characters(client, world):
    # A full-width SKU is not our SKU; a NUL byte is never a valid string.
    response = api_post(
        client,
        "/api/v1/orders",
        order_body(lines=[_line(sku="\uff24\uff32\uff29\uff2c\uff2c-1")]),
        key=world.web.key,
    )
    _assert_error(response, 400, "validation_failed", "lines[0].sku")
    response = api_post(client, "/api/v1/orders", order_body(customer_po="PO\x00-1"), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "customer_po")
    response = api_post(client, "/api/v1/orders", order_body(currency="ÜSD"), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "currency")


def test_too_many_lines(client, world):
    lines = [_line(source_line_id=str(i)) for i in range(1001)]
    response = api_post(client, "/api/v1/orders", order_body(lines=lines), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "lines")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_a_body_over_the_size_limit_is_413(client, world):
    body = order_body(notes="x" * 1900, customer_po="y" * 60)
    body["padding"] = "z" * 2000
    response = api_post(client, "/api/v1/orders", body, key=world.web.key, idem="big")
    _assert_error(response, 413, "request_too_large")
    assert not IdempotencyKey.objects.exists()


def test_missing_customer(client, world):
    body = order_body()
    body["customer"] = {}
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    _assert_error(response, 400, "validation_failed", "customer")


def test_unknown_unit_of_measure(client, world):
    response = api_post(client, "/api/v1/orders", order_body(lines=[_line(uom="PALLET")]), key=world.web.key)
    _assert_error(response, 400, "validation_failed", "lines[0].uom")


def test_input_serializers_sharing_their_fields_keep_each_requests_data_and_errors_apart():
    from orders.api.serializers import OrderCreateInputSerializer

    good = OrderCreateInputSerializer(data=order_body("S-1", lines=[_line(quantity="2")]))
    bad = OrderCreateInputSerializer(
        data=order_body("S-2", lines=[_line(), _line(source_line_id="2", quantity="-1")], colour="red")
    )
    other = OrderCreateInputSerializer(data=order_body("S-3", ship_to=ADDRESS, lines=[_line(sku="SAW-1")]))
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert other.is_valid(), other.errors
    assert set(bad.errors) == {"colour"}  # the strict check speaks first
    again = OrderCreateInputSerializer(data=order_body("S-2", lines=[_line(), _line(quantity="-1")]))
    assert not again.is_valid()
    assert set(again.errors["lines"]) == {1} and set(again.errors["lines"][1]) == {"quantity"}
    assert good.errors == {} and good.to_order_input().lines[0].quantity == 2
    assert good.to_order_input().ship_to is None
    assert other.to_order_input().lines[0].sku == "SAW-1" and other.to_order_input().ship_to.city
    assert OrderCreateInputSerializer().fields is OrderCreateInputSerializer().fields  # built once

"""POST /api/v1/orders: the pipeline end to end through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Reservation, StockPosition
from oms.kernel.models import OutboxEvent
from orders.models import OrderEvent, OrderLine, SalesOrder

from .conftest import api_get, api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_a_channel_captures_an_order_priced_reserved_and_published(client, world):
    response = api_post(client, "/api/v1/orders", order_body(), key=world.web.key)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "open"
    assert data["number"].startswith("SO-")
    assert Decimal(data["total"]) == Decimal("200.00")
    assert data["lines"][0]["unit_net_price"] == "100.0000"
    order = SalesOrder.objects.get(number=data["number"])
    line = order.lines.get()
    assert Reservation.objects.filter(demand_type="order_line", demand_id=str(line.pk)).count() == 1
    assert StockPosition.objects.get(product=world.drill, warehouse=world.warehouse).reserved == 2
    assert OutboxEvent.objects.filter(topic="order.submitted", aggregate_id=order.number).count() == 1
    assert OrderEvent.objects.filter(order=order, kind="submitted").count() == 1


def test_a_consumer_is_matched_by_channel_and_email(client, world):
    body = order_body(customer={"email": "ana@mail.example", "name": "Ana"}, ship_to={
        "name": "Ana", "line1": "1 Main St", "city": "Boston", "country": "US"})  # fmt: skip
    first = api_post(client, "/api/v1/orders", body, key=world.web.key)
    again = {**body, "source_order_id": "S-2", "customer": {"email": "ANA@mail.example"}}
    second = api_post(client, "/api/v1/orders", again, key=world.web.key)
    assert first.status_code == second.status_code == 201, second.content
    a = SalesOrder.objects.get(source_order_id="S-1")
    b = SalesOrder.objects.get(source_order_id="S-2")
    assert a.customer_id == b.customer_id
    assert a.customer.channel_id == world.web.channel.pk


def test_get_by_number_and_by_source_and_list(client, world):
    number = api_post(client, "/api/v1/orders", order_body(), key=world.web.key).json()["number"]
    assert api_get(client, f"/api/v1/orders/{number}", key=world.web.key).json()["number"] == number
    assert api_get(client, "/api/v1/orders/by-source/S-1", key=world.web.key).json()["number"] == number
    listed = api_get(client, "/api/v1/orders?sku=DRILL-1", key=world.web.key).json()
    assert [o["number"] for o in listed["results"]] == [number]
    assert "next" in listed


def test_a_trusted_channel_keeps_its_source_prices(client, world):
    body = order_body(
        lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "2", "unit_price": "80.00"}]
    )
    response = api_post(client, "/api/v1/orders", body, key=world.market.key)
    assert response.status_code == 201, response.content
    line = response.json()["lines"][0]
    assert line["price_source"] == "source"
    assert Decimal(line["line_total"]) == Decimal("160.00")


def test_cancel_releases_stock_and_writes_an_event(client, world):
    number = api_post(client, "/api/v1/orders", order_body(), key=world.web.key).json()["number"]
    response = api_post(client, f"/api/v1/orders/{number}/cancel", {"reason": "customer changed mind"},
                        key=world.web.key)  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert StockPosition.objects.get(product=world.drill, warehouse=world.warehouse).reserved == 0
    assert OrderEvent.objects.filter(order__number=number, kind="canceled").exists()
    again = api_post(client, f"/api/v1/orders/{number}/cancel", {"reason": "again"}, key=world.web.key)
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_nothing_is_left_behind_when_stock_is_short_on_an_all_or_nothing_channel(client, world):
    from tests.factories.orders import ChannelOrderPolicyFactory

    ChannelOrderPolicyFactory(channel=world.web.channel, shortage_policy="reject")
    body = order_body(lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "501"}])
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert not SalesOrder.objects.exists()
    assert not OrderLine.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="order.").exists()


def test_lines_carry_the_warehouse_that_reserved_them_and_back_orders_none(client, world):
    from tests.factories.inventory import WarehouseFactory

    from .conftest import make_channel

    body = order_body(
        lines=[
            {"source_line_id": "1", "sku": "DRILL-1", "quantity": "501"},
            {"source_line_id": "2", "sku": "SAW-1", "quantity": "1"},
        ]
    )
    assert api_post(client, "/api/v1/orders", body, key=world.web.key).status_code == 201
    lines = OrderLine.objects.filter(order__source_order_id="S-1").order_by("line_number")
    assert [(ln.status, ln.warehouse_id) for ln in lines] == [
        ("backordered", None),
        ("open", world.warehouse.pk),
    ]
    # The first-ranked warehouse is short, the second serves: the lines say so.
    near = WarehouseFactory(code="wh-near")
    ranked = make_channel("ranked", warehouses=[near, world.warehouse])
    assert api_post(client, "/api/v1/orders", order_body("S-2"), key=ranked.key).status_code == 201
    assert [ln.warehouse_id for ln in OrderLine.objects.filter(order__source_order_id="S-2")] == [
        world.warehouse.pk
    ]
    # A channel that does not reserve at capture leaves the warehouse to fulfillment.
    later = make_channel("later", reserve=False, warehouses=[world.warehouse])
    assert api_post(client, "/api/v1/orders", order_body("S-3"), key=later.key).status_code == 201
    assert [ln.warehouse_id for ln in OrderLine.objects.filter(order__source_order_id="S-3")] == [None]


def test_a_web_order_keeps_its_landing_page_and_campaign_and_a_revision_keeps_them(client, world):
    body = order_body(source_page=" /landing/spring-drills ", campaign="spring-24")
    first = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert first.status_code == 201, first.content
    assert (first.json()["source_page"], first.json()["campaign"]) == ("/landing/spring-drills", "spring-24")
    revised = api_post(client, "/api/v1/orders", order_body(revision=2), key=world.web.key)
    assert revised.status_code == 201, revised.content
    order = SalesOrder.objects.get(source_order_id="S-1", is_current=True)
    assert (order.revision, order.source_page, order.campaign) == (2, "/landing/spring-drills", "spring-24")


def test_an_overlong_campaign_is_refused_naming_the_field(client, world):
    response = api_post(client, "/api/v1/orders", order_body(campaign="x" * 101), key=world.web.key)
    assert response.status_code == 400
    assert "campaign" in response.json()["fields"]
    assert not SalesOrder.objects.exists()

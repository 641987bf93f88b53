"""Quotes, throttling, defaulting, revisions' stock, system release of credit holds, the schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Reservation, StockPosition
from orders.api.views import KeyRateThrottle
from orders.models import DefaultingRule, OrderEvent, OrderHold, SalesOrder
from partners.models import ChannelApiKey
from tests.factories.customers import CustomerFactory, CustomerSiteFactory

from .conftest import api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_a_quote_prices_and_shows_availability_per_warehouse_and_reserves_nothing(client, world):
    body = {"currency": "USD", "customer": {"account_number": "C-1"},
            "lines": [{"sku": "DRILL-1", "quantity": "2"}, {"sku": "SAW-1", "quantity": "600"}]}  # fmt: skip
    response = api_post(client, "/api/v1/quotes", body, key=world.web.key)
    assert response.status_code == 200, response.content
    data = response.json()
    drill, saw = data["lines"]
    assert Decimal(drill["total"]) == Decimal("200")
    assert drill["availability"] == [
        {
            "warehouse": "wh-east",
            "available_now": "500.0000",
            "earliest_date": timezone.localdate().isoformat(),
        }
    ]
    assert saw["earliest_date"] is None  # 600 wanted, 500 there, nothing inbound
    assert Decimal(data["totals"]["total"]) == Decimal("30200")
    assert not Reservation.objects.exists()
    assert not SalesOrder.objects.exists()


def test_a_quote_with_an_unknown_sku_is_400(client, world):
    response = api_post(
        client, "/api/v1/quotes", {"lines": [{"sku": "NOPE", "quantity": "1"}]}, key=world.web.key
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"


def test_throttling_is_per_key_and_answers_429_in_the_envelope(client, world, monkeypatch):
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", {"orders": "2/min"})
    assert ChannelApiKey.objects.count() == 3  # fresh keys: fresh counters (keyed by random prefix)
    statuses = [client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Api-Key {world.web.key}").status_code
                for _ in range(3)]  # fmt: skip
    assert statuses == [200, 200, 429]
    throttled = client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Api-Key {world.web.key}")
    assert throttled.json()["code"] == "throttled"
    assert "Retry-After" in throttled
    assert client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Api-Key {world.other.key}").status_code == 200


def test_defaulting_rules_fill_what_the_order_left_blank(client, world):
    from pricing.snapshot import ruleset_version_bump
    from tests.factories.pricing import ShippingRuleFactory

    ShippingRuleFactory(ship_method="ground")
    ShippingRuleFactory(ship_method="express", flat_amount=Decimal("20.00"))
    ruleset_version_bump()  # pricing caches its rule set by version
    DefaultingRule.objects.create(field="ship_method", value="ground")
    DefaultingRule.objects.create(field="ship_method", value="express", channel=world.web.channel)
    DefaultingRule.objects.create(field="priority", value="2", country="US")
    response = api_post(client, "/api/v1/orders", order_body(), key=world.web.key)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["ship_method"] == "express"  # the channel's rule is more specific
    assert data["priority"] == 2
    assert data["bill_to"]["country"] == "US"  # from the customer's primary site
    assert data["payment_terms"] == "NET30"
    assert Decimal(data["shipping_total"]) == Decimal("20.00")  # priced with the defaulted method


def test_a_revision_gives_back_the_old_reservations_and_reserves_anew(client, world):
    api_post(client, "/api/v1/orders", order_body(), key=world.web.key)
    lines = [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "5"}]
    assert (
        api_post(client, "/api/v1/orders", order_body(revision=2, lines=lines), key=world.web.key).status_code
        == 201
    )
    position = StockPosition.objects.get(product=world.drill, warehouse=world.warehouse)
    assert position.reserved == 5
    assert Reservation.objects.filter(status="released").count() == 1
    assert Reservation.objects.filter(status="active").count() == 1


def test_a_credit_hold_is_released_by_the_system_when_the_exposure_drops(client, world):
    tight = CustomerFactory(account_number="T-1", credit_limit=Decimal("1000"), credit_currency="USD")
    CustomerSiteFactory(customer=tight)

    def drills(source: str, qty: int) -> dict:
        lines = [{"source_line_id": "1", "sku": "DRILL-1", "quantity": str(qty)}]
        body = order_body(source, customer={"account_number": "T-1"}, lines=lines)
        return api_post(client, "/api/v1/orders", body, key=world.web.key).json()

    big = drills("B-1", 8)  # 800 of 1000
    held = drills("B-2", 4)  # 800 + 400 > 1000
    assert [h["code"] for h in held["holds"]] == ["credit"]
    api_post(client, f"/api/v1/orders/{big['number']}/cancel", {"reason": "duplicate"}, key=world.web.key)
    hold = OrderHold.objects.get(order__number=held["number"])
    assert hold.released_at is not None and hold.released_by == "system"
    assert OrderEvent.objects.filter(
        order__number=held["number"], kind="hold_released", actor="system"
    ).exists()


@pytest.mark.unit
def test_the_schema_documents_every_order_endpoint_error_and_header():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    expected = {
        "/api/v1/orders": {"get", "post"},
        "/api/v1/orders/{number}": {"get"},
        "/api/v1/orders/by-source/{source_order_id}": {"get"},
        "/api/v1/orders/{number}/cancel": {"post"},
        "/api/v1/orders/{number}/holds": {"post"},
        "/api/v1/orders/{number}/holds/{hold_id}/release": {"post"},
        "/api/v1/orders/{number}/approve": {"post"},
        "/api/v1/orders/{number}/reject": {"post"},
        "/api/v1/quotes": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    create = paths["/api/v1/orders"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "413", "415", "422", "429"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert create["requestBody"]["content"]["application/json"]["examples"]
    listing = paths["/api/v1/orders"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "status",
        "customer",
        "channel",
        "hold",
        "sku",
        "cursor",
    }

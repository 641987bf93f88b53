"""POST /api/v1/prices: channel keys and staff, the breakdown and trace, the 400 envelope."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from oms.kernel import refcache
from partners import services as partner_services
from partners.models import Channel, ChannelType, Partner, PartnerType
from tests.factories.pricing import CouponFactory, DiscountRuleFactory, ShippingRuleFactory, TaxRuleFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL = "/api/v1/prices"


@pytest.fixture
def web_client(world):
    key = partner_services.channel_key_issue(channel=world.web)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.raw_key}")
    return client


@pytest.fixture
def staff_client(world, django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("desk", is_staff=True))
    return client


def body(**overrides):
    data = {
        "customer": "C-1",
        "currency": "USD",
        "pricing_date": "2026-03-15",
        "ship_to": {"country": "DE", "region": "HH", "postcode": "20095"},
        "ship_method": "ground",
        "coupon_codes": [],
        "lines": [{"sku": "DRILL-1", "quantity": "2"}, {"sku": "saw-1", "quantity": "1", "uom": "EA"}],
        "explain": False,
    }
    data.update(overrides)
    return data


def _rows() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if m._meta.managed}


def test_a_channel_key_gets_the_full_breakdown_and_nothing_is_written(world, web_client):
    TaxRuleFactory(country="DE", tax_class=world.standard, rate=D("19"), name="DE VAT")
    ShippingRuleFactory(name="Ground", ship_method="ground", flat_amount=D("10.00"))
    DiscountRuleFactory(code="web-5", value=D("5"), conditions={"channels": [world.web]})
    refcache.versions_read()  # a fresh database gets its reference-data version rows on first use
    before = _rows()
    response = web_client.post(URL, body(explain=True), format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert _rows() == before
    assert data["channel"] == "web" and data["customer"] == "C-1"
    drill, saw = data["lines"]
    assert [c["kind"] for c in drill["components"]] == ["list_price", "discount", "shipping", "tax"]
    assert drill["components"][1]["rule"] == "web-5" and drill["net"] == "190.00"
    assert (drill["shipping"], saw["shipping"]) == ("8.00", "2.00")  # 10.00 spread 190 : 47.50
    assert data["totals"]["total"] == str(sum(D(ln["total"]) for ln in data["lines"]))
    assert data["totals"] == {
        "list_amount": "250.00", "line_discount": "12.50", "order_discount": "0.00", "net": "237.50",
        "shipping": "10.00", "tax": "45.13", "total": "292.63",
    }  # fmt: skip
    assert data["needs_approval"] is False and data["recurring"] == []
    assert any(t["step"] == "rule" and t["subject"] == "web-5" for t in data["trace"])
    assert web_client.post(URL, body(), format="json").json()["trace"] is None


def test_a_channel_prices_for_its_own_channel_and_may_not_adjust(world, web_client):
    Channel.objects.create(code="pos", name="POS", type=ChannelType.POS)
    response = web_client.post(URL, body(channel="pos"), format="json")
    assert response.status_code == 400 and "channel" in response.json()["fields"]
    adj = {"kind": "percent_off", "value": "5", "reason_code": "price-match"}
    lines = [{"sku": "DRILL-1", "quantity": "1", "manual_adjustment": adj}]
    response = web_client.post(URL, body(lines=lines, ship_method=None), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"lines[0].manual_adjustment": ["Only staff may adjust prices."]}


def test_staff_may_name_the_channel_and_adjust_with_a_reason(world, staff_client):
    adj = {"kind": "percent_off", "value": "30", "reason_code": "price-match"}
    lines = [{"sku": "DRILL-1", "quantity": "1", "manual_adjustment": adj}]
    response = staff_client.post(URL, body(lines=lines, channel="web", ship_method=""), format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["channel"] == "web" and data["needs_approval"] is True
    assert "30.00% below list" in data["approval_reasons"][0]
    assert data["lines"][0]["manual_reason_code"] == "price-match"


def test_anonymous_consumer_pricing(world, web_client):
    response = web_client.post(URL, body(customer=None, ship_to=None, ship_method=None), format="json")
    assert response.status_code == 200 and response.json()["customer"] is None


def test_coupons_are_validated_not_redeemed(world, web_client):
    CouponFactory(code="SPRING", rule=DiscountRuleFactory(code="spring", value=D("10")), max_uses=1)
    data = web_client.post(
        URL, body(coupon_codes=["spring", "bogus"], ship_method=None), format="json"
    ).json()
    assert [(c["code"], c["valid"], c["applied"]) for c in data["coupons"]] == [
        ("SPRING", True, True), ("BOGUS", False, False),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": "1"}]}, "lines[0].sku"),
        ({"currency": "XYZ"}, "currency"),
        ({"lines": [{"sku": "DRILL-1", "quantity": "0"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "DRILL-1", "quantity": "-2"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "DRILL-1", "quantity": "1"}] * 1001}, "lines"),
        ({"lines": []}, "lines"),
        ({"customer": "C-404"}, "customer"),
        ({"ship_method": "teleport"}, "ship_method"),
        ({"lines": [{"sku": "DRILL-1", "quantity": "1", "uom": "PALLET"}]}, "lines[0].uom"),
        ({"ship_to": {"country": "12"}}, "ship_to.country"),
    ],
)
def test_bad_input_is_a_400_envelope_with_field_messages(world, web_client, overrides, field):
    response = web_client.post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == "validation_failed" and field in data["fields"], data


def test_only_channels_and_staff_may_price(world):
    partner = Partner.objects.create(code="3pl", name="3PL", type=PartnerType.THIRD_PARTY_LOGISTICS)
    cred = partner_services.partner_credential_issue(partner=partner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {cred.raw_key}")
    assert client.post(URL, body(), format="json").status_code == 403
    assert APIClient().post(URL, body(), format="json").status_code == 401

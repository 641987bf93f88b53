"""Credit, trade-compliance and approval checks at capture; releases and approvals write events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from oms.kernel.roles import Role
from orders.models import OrderEvent, OrderHold, OrderLine, SalesOrder
from tests.factories.customers import CustomerFactory, CustomerSiteFactory
from tests.factories.orders import (
    ApprovalRuleFactory,
    ChannelOrderPolicyFactory,
    EmbargoedCountryFactory,
    RestrictedPartyFactory,
)
from tests.factories.pricing import ExchangeRateFactory
from tests.support.otp import login_verified

from .conftest import ADDRESS, api_post, order_body
from .helpers_staff import staff

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _drills(qty: int) -> list[dict]:
    return [{"source_line_id": "1", "sku": "DRILL-1", "quantity": str(qty)}]


def test_credit_limit_in_eur_breached_by_a_usd_order_lands_on_credit_hold_with_converted_figures(
    client, world
):
    ExchangeRateFactory(base="EUR", quote="USD", rate=Decimal("1.25"), valid_on=date(2026, 1, 1))
    eu = CustomerFactory(account_number="EU-1", credit_limit=Decimal("1000"), credit_currency="EUR")
    CustomerSiteFactory(customer=eu, country="US")
    body = order_body(customer={"account_number": "EU-1"}, lines=_drills(20))  # 2000 USD = 1600 EUR
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "open"  # a hold is not a status
    (hold,) = data["holds"]
    assert hold["code"] == "credit" and hold["active"]
    assert hold["details"]["order_total_converted"] == "1600.00"
    assert hold["details"]["credit_currency"] == "EUR"
    assert "1600.00 EUR" in hold["reason"] and "> limit 1000.0000 EUR" in hold["reason"]
    order = SalesOrder.objects.get(number=data["number"])
    assert order.credit_amount == Decimal("1600.00")
    # Finance releases it with a reason; the release is an event.
    login_verified(client, staff("fin", Role.FINANCE))
    released = api_post(client, f"/api/v1/orders/{order.number}/holds/{hold['id']}/release",
                        {"reason": "prepayment received"})  # fmt: skip
    assert released.status_code == 200, released.content
    assert released.json()["active"] is False
    assert OrderEvent.objects.filter(order=order, kind="hold_released", actor="user:fin").exists()


def test_a_restricted_party_lands_on_compliance_hold(client, world):
    RestrictedPartyFactory(name="Blocked Trading Co")
    body = order_body(ship_to={**ADDRESS, "name": "BLOCKED TRADING, Inc."})
    data = api_post(client, "/api/v1/orders", body, key=world.web.key).json()
    assert [h["code"] for h in data["holds"]] == ["compliance"]
    assert "restricted party" in data["holds"][0]["reason"]
    assert OrderEvent.objects.filter(order__number=data["number"], kind="hold_applied").exists()


def test_a_channel_that_rejects_restricted_parties_refuses_the_order_and_both_hits_are_named(client, world):
    ChannelOrderPolicyFactory(channel=world.web.channel, restricted_party_policy="reject")
    RestrictedPartyFactory(name="Blocked Trading Co")
    EmbargoedCountryFactory(country="KP", policy="hold")
    body = order_body(ship_to={**ADDRESS, "name": "Blocked Trading Co", "country": "KP"})
    refused = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "compliance_rejected"
    assert "Blocked Trading Co" in refused.json()["message"] and "KP" in refused.json()["message"]
    assert not SalesOrder.objects.exists()
    # Another channel keeps the default policy: the same order is held, not refused.
    held = api_post(client, "/api/v1/orders", body, key=world.other.key)
    assert held.status_code == 201
    assert held.json()["holds"][0]["details"] == {
        "embargoed": ["KP"],
        "restricted_parties": ["Blocked Trading Co"],
    }


def test_an_embargoed_country_lands_on_compliance_hold_or_is_rejected_by_policy(client, world):
    EmbargoedCountryFactory(country="KP", policy="hold")
    body = order_body(ship_to={**ADDRESS, "country": "KP"})
    data = api_post(client, "/api/v1/orders", body, key=world.web.key).json()
    assert [h["code"] for h in data["holds"]] == ["compliance"]
    EmbargoedCountryFactory(country="IR", policy="reject")
    refused = api_post(client, "/api/v1/orders", order_body("S-2", ship_to={**ADDRESS, "country": "IR"}),
                       key=world.web.key)  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["code"] == "compliance_rejected"
    assert not SalesOrder.objects.filter(source_order_id="S-2").exists()


def test_a_compliance_hold_is_released_only_by_an_authorized_user(client, world):
    EmbargoedCountryFactory(country="KP", policy="hold")
    data = api_post(client, "/api/v1/orders", order_body(ship_to={**ADDRESS, "country": "KP"}),
                    key=world.web.key).json()  # fmt: skip
    hold_id = data["holds"][0]["id"]
    path = f"/api/v1/orders/{data['number']}/holds/{hold_id}/release"
    assert api_post(client, path, {"reason": "ok"}, key=world.web.key).status_code == 403
    login_verified(client, staff("boss", Role.ADMIN))
    assert api_post(client, path, {"reason": "licence checked"}).status_code == 200
    assert OrderHold.objects.get(pk=hold_id).released_by == "user:boss"


def test_a_large_order_waits_for_approval_and_only_an_approver_approves(client, world):
    ApprovalRuleFactory(threshold=Decimal("5000"), threshold_currency="USD")
    data = api_post(client, "/api/v1/orders", order_body(lines=_drills(60)), key=world.web.key).json()
    assert data["status"] == "pending_approval"
    assert "total 6000.00 USD over 5000" in data["approval_reasons"][0]
    number = data["number"]
    # Neither the channel nor a staff user without the approver role may approve.
    assert api_post(client, f"/api/v1/orders/{number}/approve", {}, key=world.web.key).status_code == 403
    client.force_login(staff("desk", Role.ORDER_DESK))
    refused = api_post(client, f"/api/v1/orders/{number}/approve", {})
    assert refused.status_code == 403
    assert SalesOrder.objects.get(number=number).status == "pending_approval"
    login_verified(client, staff("appr", Role.APPROVER))
    approved = api_post(client, f"/api/v1/orders/{number}/approve", {"reason": "known buyer"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "open"
    assert set(OrderLine.objects.filter(order__number=number).values_list("status", flat=True)) == {"open"}
    assert OrderEvent.objects.filter(order__number=number, kind="approved", actor="user:appr").exists()


def test_a_flagged_manual_discount_waits_for_approval_and_can_be_rejected(client, world):
    client.force_login(staff("desk", Role.ORDER_DESK))
    adjustment = {"kind": "percent_off", "value": "30", "reason_code": "price-match"}
    lines = [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "1", "manual_adjustment": adjustment}]
    response = api_post(client, "/api/v1/orders", order_body(channel="web", lines=lines))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "pending_approval"
    assert OrderEvent.objects.filter(order__number=data["number"], kind="price_override").exists()
    login_verified(client, staff("appr", Role.APPROVER))
    rejected = api_post(client, f"/api/v1/orders/{data['number']}/reject", {"reason": "discount too deep"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "canceled"
    assert OrderEvent.objects.filter(order__number=data["number"], kind="rejected").exists()


def test_a_new_customer_rule_sends_a_first_consumer_order_to_approval(client, world):
    ApprovalRuleFactory(name="First order", kind="new_customer", threshold=None, threshold_currency="")
    body = order_body(customer={"email": "new@mail.example", "name": "New"}, ship_to=ADDRESS)
    assert api_post(client, "/api/v1/orders", body, key=world.web.key).json()["status"] == "pending_approval"


def test_the_system_releases_a_compliance_hold_once_the_cause_clears(client, world):
    from orders.services import compliance_holds_recheck

    party = RestrictedPartyFactory(name="Blocked Trading Co")
    data = api_post(client, "/api/v1/orders", order_body(ship_to={**ADDRESS, "name": "Blocked Trading Co"}),
                    key=world.web.key).json()  # fmt: skip
    assert compliance_holds_recheck() == []  # still listed: the hold stays
    party.active = False
    party.save()
    (released,) = compliance_holds_recheck()
    assert released.order.number == data["number"] and released.released_by == "system"
    assert OrderEvent.objects.filter(
        order__number=data["number"], kind="hold_released", actor="system"
    ).exists()

"""Cost of change: a revision learns what it undoes downstream, priced by the admin's rules, in
its 201 (or 409) answer; over the policy's threshold the order waits in approval with the cost,
and fulfillment applies the revision only once it is approved."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from fulfillment.models import ChangeCostPolicy, ChangeCostRule, FulfillmentLine, Shipment
from fulfillment.states import ChangeCostKind as K
from fulfillment.states import FulfillmentLineStatus as FLS
from orders.actors import Actor
from orders.models import EventKind, OrderEvent, SalesOrder
from orders.services import order_approve

from .conftest import order_body, post, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _line(quantity: str) -> dict:
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    return {"source_line_id": "1", "sku": "DRILL-1", "quantity": quantity, "requested_ship_date": ship_date}


def _rules(world) -> None:
    ChangeCostRule.objects.create(
        name="East cancel fee",
        kind=K.SHIPMENT_REQUEST_CANCEL,
        warehouse=world.east,
        fixed_amount=Decimal("15"),
    )
    ChangeCostRule.objects.create(
        name="Handling", kind=K.SHIPMENT_REQUEST_CANCEL, per_unit_amount=Decimal("2.50")
    )
    ChangeCostRule.objects.create(
        name="West only", kind=K.SHIPMENT_REQUEST_CANCEL, warehouse=world.west, fixed_amount=Decimal("99")
    )
    ChangeCostRule.objects.create(name="Restocking", kind=K.RESTOCKING_FEE, percent_of_value=Decimal("10"))
    ChangeCostRule.objects.create(
        name="Off", kind=K.SHIPMENT_REQUEST_CANCEL, fixed_amount=Decimal("1000"), active=False
    )


def _approver():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from oms.kernel.roles import Role, role_sync

    role_sync()
    approver = get_user_model().objects.create_user("boss", password="x", is_staff=True)
    approver.groups.add(Group.objects.get(name=Role.APPROVER.label))
    return approver


def _awaiting_shipping(client, world, quantity="5") -> tuple[str, FulfillmentLine]:
    number = submit(client, world, order_body(lines=[_line(quantity)]))["number"]
    settle()
    wake_pauses()
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.status == FLS.AWAITING_SHIPPING
    return number, fl


def test_lowering_a_quantity_after_the_shipment_request_returns_its_cost_in_the_201(fworld):
    _rules(fworld)
    client = Client()
    number, _ = _awaiting_shipping(client, fworld, "5")
    resp = post(client, "/api/v1/orders", order_body(revision=2, lines=[_line("3")]), fworld.web.key)
    assert resp.status_code == 201, resp.content
    cost = resp.json()["change_cost"]
    shipment = Shipment.objects.get(order_number=number)
    # 15 (east fee) + 2 x 2.50 (handling); the west-only and inactive rules do not apply; nothing
    # was picked yet, so no restocking fee.
    assert cost["currency"] == "USD" and Decimal(cost["total"]) == Decimal("20.00")
    assert sorted((i["kind"], Decimal(i["amount"]), i["reference"]) for i in cost["items"]) == [
        (K.SHIPMENT_REQUEST_CANCEL, Decimal("5.00"), shipment.number),
        (K.SHIPMENT_REQUEST_CANCEL, Decimal("15.00"), shipment.number),
    ]
    assert cost["approval_required"] is False and resp.json()["status"] == "open"
    event = OrderEvent.objects.get(order__number=number, kind=EventKind.REVISED)
    assert Decimal(event.data["change_cost"]["total"]) == Decimal("20.00")


def test_picked_goods_add_the_restocking_fee(fworld):
    _rules(fworld)
    client = Client()
    number, _ = _awaiting_shipping(client, fworld, "5")
    Shipment.objects.filter(order_number=number).update(status="picked")
    resp = post(client, "/api/v1/orders", order_body(revision=2, lines=[_line("3")]), fworld.web.key)
    cost = resp.json()["change_cost"]
    restock = [i for i in cost["items"] if i["kind"] == K.RESTOCKING_FEE]
    # 10% of 2 x 99.99
    assert [Decimal(i["amount"]) for i in restock] == [Decimal("20.00")]
    assert Decimal(cost["total"]) == Decimal("40.00")


def test_a_first_submission_and_an_unchanged_quantity_cost_nothing(fworld):
    _rules(fworld)
    client = Client()
    first = post(client, "/api/v1/orders", order_body(lines=[_line("5")]), fworld.web.key)
    assert first.status_code == 201 and first.json()["change_cost"] is None
    settle()
    wake_pauses()
    settle()
    resp = post(client, "/api/v1/orders", order_body(revision=2, lines=[_line("6")]), fworld.web.key)
    assert resp.status_code == 201
    assert Decimal(resp.json()["change_cost"]["total"]) == 0 and resp.json()["change_cost"]["items"] == []


def test_above_the_threshold_the_revision_waits_in_approval_and_fulfillment_waits_for_it(fworld):
    _rules(fworld)
    ChangeCostPolicy.objects.create(approval_threshold=Decimal("10"), currency="USD")
    client = Client()
    number, fl = _awaiting_shipping(client, fworld, "5")
    resp = post(client, "/api/v1/orders", order_body(revision=2, lines=[_line("3")]), fworld.web.key)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "pending_approval" and body["change_cost"]["approval_required"] is True
    assert any("Cost of change 20.00 USD over the threshold of 10" in r for r in body["approval_reasons"])
    settle()
    fl.refresh_from_db()
    # Waiting: the shipment request stands and the line keeps its quantity.
    assert fl.quantity == 5 and Shipment.objects.get(order_number=number).status == "requested"
    approval = OrderEvent.objects.get(order__number=number, kind=EventKind.APPROVAL_REQUESTED)
    assert Decimal(approval.data["change_cost"]["total"]) == Decimal("20.00")

    approver = _approver()
    revision2 = SalesOrder.objects.get(number=number, is_current=True)
    order_approve(order_id=revision2.pk, actor=Actor.for_user(approver), reason="customer pays the fee")
    settle()
    fl.refresh_from_db()
    assert fl.quantity == 3 and fl.order_id == revision2.pk
    shipments = list(Shipment.objects.filter(order_number=number).order_by("pk"))
    assert [s.status for s in shipments] == ["canceled", "requested"]


def test_above_the_refusal_limit_the_revision_is_a_409_with_its_cost_and_nothing_is_written(fworld):
    _rules(fworld)
    ChangeCostPolicy.objects.create(
        channel=fworld.web.channel, approval_threshold=Decimal("5"), refusal_threshold=Decimal("19.99")
    )
    client = Client()
    _awaiting_shipping(client, fworld, "5")
    before = (SalesOrder.objects.count(), OrderEvent.objects.count())
    resp = post(client, "/api/v1/orders", order_body(revision=2, lines=[_line("3")]), fworld.web.key)
    assert resp.status_code == 409, resp.content
    body = resp.json()
    assert body["code"] == "change_too_costly" and Decimal(body["change_cost"]["total"]) == Decimal("20.00")
    assert (SalesOrder.objects.count(), OrderEvent.objects.count()) == before


def test_a_revision_after_one_waiting_in_approval_is_worked_out_from_what_fulfillment_follows(fworld):
    _rules(fworld)
    ChangeCostPolicy.objects.create(approval_threshold=Decimal("10"), currency="USD")
    client = Client()
    number, fl = _awaiting_shipping(client, fworld, "5")
    waiting = post(client, "/api/v1/orders", order_body(revision=2, lines=[_line("3")]), fworld.web.key)
    assert waiting.json()["status"] == "pending_approval"
    settle()
    # Revision 3 raises it to 4: nothing lowered against revision 2, so no cost and no approval.
    third = post(client, "/api/v1/orders", order_body(revision=3, lines=[_line("4")]), fworld.web.key)
    assert third.status_code == 201 and third.json()["status"] == "open", third.content
    settle()
    fl.refresh_from_db()
    revision3 = SalesOrder.objects.get(number=number, is_current=True)
    assert (fl.quantity, fl.order_id) == (Decimal(4), revision3.pk)

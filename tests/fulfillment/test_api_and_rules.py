"""Fulfillment API (plan per order, shipment advice in and its bad inputs), transition tables,
database constraints and definition validation."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from billing.states import INVOICE_TRANSITIONS, InvoiceStatus, ensure_invoice_transition
from fulfillment.models import FulfillmentLine, Shipment, ShipmentAdvice, StepDefinition
from fulfillment.services import definition_create
from fulfillment.services.definitions import definition_errors
from fulfillment.states import (
    FULFILLMENT_LINE_TRANSITIONS,
    PROCESS_TRANSITIONS,
    SHIPMENT_TRANSITIONS,
    STEP_TRANSITIONS,
    FulfillmentLineStatus,
    ProcessStatus,
    ShipmentStatus,
    StepStatus,
    TaskType,
    ensure_transition,
)
from oms.kernel.exceptions import IllegalTransition, ValidationFailed
from tests.orders.conftest import make_channel

from .conftest import advise, order_body, post, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _line(quantity="3"):
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    return {"source_line_id": "1", "sku": "DRILL-1", "quantity": quantity, "requested_ship_date": ship_date}


def _shipping(client, world) -> tuple[str, Shipment]:
    number = submit(client, world, order_body(lines=[_line()]))["number"]
    settle()
    wake_pauses()
    settle()
    return number, Shipment.objects.get(order_number=number)


def test_order_fulfillment_api_shows_lines_with_their_process_plan(fworld):
    client = Client()
    number, shipment = _shipping(client, fworld)
    resp = client.get(f"/api/v1/orders/{number}/fulfillment", HTTP_AUTHORIZATION=f"Api-Key {fworld.web.key}")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    (line,) = body["lines"]
    assert (line["status"], line["warehouse"], line["mode"]) == ("awaiting_shipping", "wh-east", "warehouse")
    assert line["process"]["definition"] == "ship-from-warehouse" and line["process"]["version"] == 1
    steps = line["process"]["steps"]
    assert [s["task_type"] for s in steps][:4] == ["schedule", "reserve", "pause", "create_shipment_request"]
    assert steps[0]["status"] == "completed" and steps[0]["actual_end"] and steps[0]["planned_end"]
    assert steps[4]["status"] == "waiting" and steps[4]["awaited_event"] == "shipment.shipped"
    assert line["shipments"][0]["number"] == shipment.number


def test_order_fulfillment_api_is_scoped_and_its_queries_do_not_grow(fworld, django_assert_max_num_queries):
    client = Client()
    number = submit(
        client, fworld, order_body(lines=[_line(), {**_line("1"), "source_line_id": "2", "sku": "SAW-1"}])
    )["number"]
    settle()
    other = make_channel("other-shop", warehouses=[fworld.east])
    resp = client.get(f"/api/v1/orders/{number}/fulfillment", HTTP_AUTHORIZATION=f"Api-Key {other.key}")
    assert resp.status_code == 404
    assert client.get(f"/api/v1/orders/{number}/fulfillment").status_code in (401, 403)
    from fulfillment.selectors import order_fulfillment

    with django_assert_max_num_queries(5):
        lines = order_fulfillment(viewer=_principal(fworld), number=number)
        for fl in lines:
            [s.step_definition.name for s in fl.process.steps.all()]
            list(fl.shipment_lines.all())
    assert len(lines) == 2


def _principal(world):
    from partners.authentication import ChannelPrincipal

    return ChannelPrincipal(channel=world.web.channel, key_id=0)


def test_shipment_advice_is_idempotent_per_partner(fworld):
    client = Client()
    number, shipment = _shipping(client, fworld)
    first = advise(client, fworld, shipment=shipment.number, advice_id="same")
    again = advise(client, fworld, shipment=shipment.number, advice_id="same")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert ShipmentAdvice.objects.count() == 1
    other_body = advise(
        client, fworld, shipment=shipment.number, advice_id="same", tracking_number="DIFFERENT"
    )
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_key_reused"
    shipped = advise(client, fworld, shipment=shipment.number, advice_id="another")
    assert shipped.status_code == 409  # already shipped: an illegal transition
    settle()
    assert FulfillmentLine.objects.get(order_number=number).shipped_quantity == 3


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"shipment": "SH-X"}, 400, "validation_failed"),
        ({"advice_id": "a", "shipment": "NOPE"}, 404, "not_found"),
        (
            {"advice_id": "a", "shipment": "{s}", "lines": [{"fulfillment_line": 999999, "quantity": "1"}]},
            400,
            "validation_failed",
        ),
        (
            {"advice_id": "a", "shipment": "{s}", "lines": [{"fulfillment_line": "{fl}", "quantity": "9"}]},
            400,
            "validation_failed",
        ),
        (
            {"advice_id": "a", "shipment": "{s}", "lines": [{"fulfillment_line": "{fl}", "quantity": "-1"}]},
            400,
            "validation_failed",
        ),
    ],
)
def test_bad_shipment_advice_is_refused_and_changes_nothing(fworld, body, status, code):
    client = Client()
    number, shipment = _shipping(client, fworld)
    fl = FulfillmentLine.objects.get(order_number=number)
    body = {k: (v.format(s=shipment.number) if isinstance(v, str) else v) for k, v in body.items()}
    for item in body.get("lines", []):
        if item["fulfillment_line"] == "{fl}":
            item["fulfillment_line"] = fl.pk
    resp = post(client, "/api/v1/fulfillment/shipment-advice", body, fworld.partners["wh-east"].key)
    assert resp.status_code == status, resp.content
    assert resp.json()["code"] == code
    shipment.refresh_from_db()
    fl.refresh_from_db()
    assert (
        shipment.status == "requested"
        and fl.status == "awaiting_shipping"
        and not ShipmentAdvice.objects.exists()
    )


def test_shipment_advice_needs_a_partner_credential(fworld):
    client = Client()
    _, shipment = _shipping(client, fworld)
    resp = post(
        client,
        "/api/v1/fulfillment/shipment-advice",
        {"advice_id": "a", "shipment": shipment.number},
        fworld.web.key,
    )
    assert resp.status_code == 403


def test_delivery_and_exception_updates(fworld):
    client = Client()
    _, shipment = _shipping(client, fworld)
    key = fworld.partners["wh-east"].key
    early = post(
        client,
        "/api/v1/fulfillment/shipment-status",
        {"shipment": shipment.number, "status": "delivered"},
        key,
    )
    assert early.status_code == 409  # not shipped yet
    advise(client, fworld, shipment=shipment.number, advice_id="d1")
    resp = post(
        client,
        "/api/v1/fulfillment/shipment-status",
        {"shipment": shipment.number, "status": "exception", "note": "damaged box"},
        key,
    )
    assert resp.status_code == 200 and resp.json()["status"] == "exception"
    resp = post(
        client,
        "/api/v1/fulfillment/shipment-status",
        {"shipment": shipment.number, "status": "delivered"},
        key,
    )
    assert resp.status_code == 200 and resp.json()["status"] == "delivered"


@pytest.mark.parametrize(
    "table,values",
    [
        (FULFILLMENT_LINE_TRANSITIONS, FulfillmentLineStatus.values),
        (PROCESS_TRANSITIONS, ProcessStatus.values),
        (STEP_TRANSITIONS, StepStatus.values),
        (SHIPMENT_TRANSITIONS, ShipmentStatus.values),
    ],
)
def test_every_pair_outside_a_transition_table_is_refused(table, values):
    assert set(table) == set(values)
    for current, target in itertools.product(values, values):
        if target in table[current]:
            ensure_transition(table, current, target)
        else:
            with pytest.raises(IllegalTransition):
                ensure_transition(table, current, target)


def test_invoice_transitions():
    for current, target in itertools.product(InvoiceStatus.values, InvoiceStatus.values):
        if target in INVOICE_TRANSITIONS[current]:
            ensure_invoice_transition(current, target)
        else:
            with pytest.raises(IllegalTransition):
                ensure_invoice_transition(current, target)


def test_database_refuses_unknown_statuses(fworld):
    client = Client()
    submit(client, fworld, order_body(lines=[_line()]))
    settle()
    fl = FulfillmentLine.objects.first()
    for model, pk in ((FulfillmentLine, fl.pk), (type(fl.process), fl.process.pk)):
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=pk).update(status="bogus")


def _steps(*types, branch=None):
    return [
        StepDefinition(sequence=(i + 1) * 10, name=t, task_type=t, branch=(branch or {}).get(i, ""))
        for i, t in enumerate(types)
    ]


def test_definition_validation():
    T = TaskType
    assert definition_errors(_steps(T.SCHEDULE, T.RESERVE, T.INVOICE, T.CLOSE)) == []
    assert any(
        "after INVOICE" in e for e in definition_errors(_steps(T.SCHEDULE, T.INVOICE, T.RESERVE, T.CLOSE))
    )
    assert any("merge" in e for e in definition_errors(_steps(T.SCHEDULE, T.INVOICE)))
    assert any("start" in e for e in definition_errors(_steps(T.SCHEDULE, T.CLOSE, branch={0: "drop_ship"})))
    assert any("merge" in e for e in definition_errors(_steps(T.SCHEDULE, T.CLOSE, branch={1: "drop_ship"})))
    with pytest.raises(ValidationFailed):
        definition_create(code="bad", name="Bad", steps=[{"name": "Invoice", "task_type": T.INVOICE}])


def test_branches_by_fulfillment_mode_merge_again(fworld):
    """One definition with a drop-ship branch and a warehouse branch: each line runs only its own."""
    from fulfillment.models import AssignmentRule

    T = TaskType
    definition_create(
        code="branched",
        name="Branched",
        steps=[
            {"name": "Schedule", "task_type": T.SCHEDULE},
            {"name": "Reserve", "task_type": T.RESERVE, "branch": "warehouse"},
            {"name": "Request", "task_type": T.CREATE_SHIPMENT_REQUEST, "branch": "warehouse"},
            {"name": "Buy", "task_type": T.CREATE_PURCHASE_REQUEST, "branch": "drop_ship"},
            {"name": "Wait", "task_type": T.WAIT_FOR_SHIPMENT},
            {"name": "Invoice", "task_type": T.INVOICE},
            {"name": "Close", "task_type": T.CLOSE},
        ],
    )
    AssignmentRule.objects.create(name="everything branched", priority=1, process_code="branched")
    client = Client()
    number = submit(
        client,
        fworld,
        order_body(lines=[_line("1"), {**_line("1"), "source_line_id": "2", "sku": "KAYAK-1"}]),
    )["number"]
    settle()
    wh = FulfillmentLine.objects.get(order_number=number, source_line_id="1")
    ds = FulfillmentLine.objects.get(order_number=number, source_line_id="2")
    assert dict(wh.process.steps.values_list("task_type", "status"))[T.CREATE_PURCHASE_REQUEST] == "skipped"
    assert dict(ds.process.steps.values_list("task_type", "status"))[T.RESERVE] == "skipped"
    assert wh.status == ds.status == "awaiting_shipping"
    assert wh.reservation_id and ds.purchase_order_id and not ds.reservation_id

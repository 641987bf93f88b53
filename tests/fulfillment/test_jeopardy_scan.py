"""The jeopardy scan end to end on a back-to-back line: planned from lead times, scored by the
default policy, alerts raised once, one webhook and one digest, resolved when the receipt comes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.models import FulfillmentEvent, FulfillmentLine, JeopardyAlert, JeopardyScan, ProcessInstance
from fulfillment.services import jeopardy as jeopardy_module
from fulfillment.services import process_cancel
from fulfillment.services.jeopardy import PolicyBook, jeopardy_scan
from inventory.models import PurchaseOrder
from inventory.services import ReceiptInput, purchase_order_receive
from oms.kernel import events
from oms.kernel.models import OutboxDelivery, OutboxEvent
from partners.models import WebhookDelivery, WebhookEndpoint

from .conftest import order_body, settle, submit
from .jeopardy_support import default_policy, every_day, fulfillment_staff, in_days

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def jworld(fworld):
    every_day(fworld)
    default_policy()
    fworld.staff = fulfillment_staff()
    WebhookEndpoint.objects.create(
        channel=fworld.web.channel,
        url="https://hooks.example/oms",
        secret="s3cret",
        topics=["order.jeopardy_changed"],
    )
    return fworld


def _piano_order(world, delivery_in_days: int) -> FulfillmentLine:
    body = order_body(
        lines=[{"source_line_id": "1", "sku": "PIANO-1", "quantity": "1"}],
        requested_delivery_date=in_days(delivery_in_days),
    )
    number = submit(Client(), world, body)["number"]
    settle()
    return FulfillmentLine.objects.select_related("process").get(order_number=number)


def test_late_receipt_raises_one_alert_one_webhook_one_digest_and_resolves_when_it_arrives(jworld):
    fl = _piano_order(jworld, delivery_in_days=10)
    process = fl.process
    assert process.current_step.task_type == "wait_for_receipt"
    jeopardy_scan()
    process.refresh_from_db()
    assert process.jeopardy_priority == "on_time", process.jeopardy_reason
    assert not JeopardyAlert.objects.exists()
    mail.outbox.clear()
    # Nine days pass and the receipt (planned for 5) has not come: the line is late.
    later = timezone.now() + timedelta(days=9)
    result = jeopardy_scan(now=later)
    process.refresh_from_db()
    assert result.alerts_raised == 1
    assert process.jeopardy_priority in ("low", "medium", "high")
    assert "waiting for receipt of PO-" in process.jeopardy_reason, process.jeopardy_reason
    # The planner scores steps ahead with the same policy, read in Python: the two agree.
    assert PolicyBook.load().judge(
        "back-to-back", process.current_task_type, process.jeopardy_delay_hours
    ) == (
        process.jeopardy_score,
        process.jeopardy_priority,
    )
    alert = JeopardyAlert.objects.get()
    assert (alert.status, alert.priority, alert.role) == ("open", process.jeopardy_priority, "fulfillment")
    changed = OutboxEvent.objects.filter(topic="order.jeopardy_changed", aggregate_id=fl.order_number)
    assert changed.count() == 1
    events.relay_run()
    assert WebhookDelivery.objects.filter(topic="order.jeopardy_changed").count() == 1
    assert len(mail.outbox) == 1 and "1 new alert" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["fran@oms.example"]
    # The same scan again: nothing changed, nothing raised, nothing published.
    again = jeopardy_scan(now=later)
    assert (again.alerts_raised, again.orders_changed, again.digests) == (0, 0, 0)
    assert JeopardyAlert.objects.count() == 1 and changed.count() == 1
    # The receipt arrives today: the plan moves back and the alert resolves itself.
    po = PurchaseOrder.objects.get(pk=fl.purchase_order_id)
    purchase_order_receive(
        purchase_order_id=po.pk, lines=[ReceiptInput(line_id=po.lines.get().pk, quantity=Decimal(1))]
    )
    settle()
    back = jeopardy_scan()
    process.refresh_from_db()
    alert.refresh_from_db()
    assert process.jeopardy_priority == "on_time"
    assert (alert.status, alert.resolution) == ("resolved", "back_on_time")
    assert back.alerts_resolved == 1
    assert changed.count() == 2


def _late_orders(world, n: int, prefix: str) -> list[str]:
    numbers = []
    for i in range(n):
        body = order_body(
            f"{prefix}-{i}",
            lines=[{"source_line_id": "1", "sku": "PIANO-1", "quantity": "1"}],
            requested_delivery_date=in_days(10),
        )
        numbers.append(submit(Client(), world, body)["number"])
    settle()
    return numbers


def test_the_scan_runs_the_same_number_of_statements_for_one_late_line_as_for_three(jworld):
    later = timezone.now() + timedelta(days=9)
    _late_orders(jworld, 1, "Q1")
    with CaptureQueriesContext(connection) as one:
        assert jeopardy_scan(now=later).alerts_raised == 1
    _late_orders(jworld, 3, "Q3")
    with CaptureQueriesContext(connection) as three:
        assert jeopardy_scan(now=later).alerts_raised == 3
    assert len(one.captured_queries) == len(three.captured_queries)


def test_a_scan_that_dies_half_way_leaves_nothing_written(jworld, monkeypatch):
    (number,) = _late_orders(jworld, 1, "C")
    process = FulfillmentLine.objects.get(order_number=number).process
    before = ProcessInstance.objects.filter(pk=process.pk).values().get()

    def power_cut(*args, **kwargs):
        raise RuntimeError("the worker died")

    # After the processes, steps and alerts were written in the scan's transaction.
    monkeypatch.setattr(jeopardy_module, "_orders_publish", power_cut)
    with pytest.raises(RuntimeError):
        jeopardy_scan(now=timezone.now() + timedelta(days=9))
    assert ProcessInstance.objects.filter(pk=process.pk).values().get() == before
    assert not JeopardyAlert.objects.exists() and not JeopardyScan.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="order.jeopardy").exists()
    monkeypatch.undo()
    assert jeopardy_scan(now=timezone.now() + timedelta(days=9)).alerts_raised == 1


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=9
)
def test_a_mail_server_that_is_down_does_not_fail_the_scan_and_the_digest_is_retried(jworld):
    _late_orders(jworld, 1, "M")
    result = jeopardy_scan(now=timezone.now() + timedelta(days=9))
    assert (result.alerts_raised, result.digests) == (1, 1)
    events.relay_run()
    delivery = OutboxDelivery.objects.get(subscriber="fulfillment.jeopardy_digest")
    assert (delivery.status, delivery.attempts) == (
        "pending",
        1,
    ) and "Connection refused" in delivery.last_error
    mail.outbox.clear()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        OutboxDelivery.objects.filter(pk=delivery.pk).update(available_at=timezone.now())
        events.relay_run()
    delivery.refresh_from_db()
    assert delivery.status == "done"
    # (the order confirmation, which failed too, may come out of its own retry meanwhile)
    assert [m.to for m in mail.outbox if m.subject.startswith("Jeopardy")] == [["fran@oms.example"]]


def test_an_alert_closes_with_its_process(jworld):
    (number,) = _late_orders(jworld, 1, "X")
    jeopardy_scan(now=timezone.now() + timedelta(days=9))
    alert = JeopardyAlert.objects.get(order_number=number)
    process_cancel(process_id=alert.process_id, actor="user:fran", reason="customer gave up")
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == ("resolved", "closed")
    assert FulfillmentEvent.objects.filter(kind="alert_resolved", data__alert=alert.pk).count() == 1

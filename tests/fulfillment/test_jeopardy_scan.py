"""The jeopardy scan end to end on a back-to-back line: planned from lead times, scored by the
default policy, alerts raised once, one webhook and one digest, resolved when the receipt comes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from fulfillment.models import FulfillmentLine, JeopardyAlert
from fulfillment.services.jeopardy import jeopardy_scan
from inventory.models import PurchaseOrder
from inventory.services import ReceiptInput, purchase_order_receive
from oms.kernel import events
from oms.kernel.models import OutboxEvent
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

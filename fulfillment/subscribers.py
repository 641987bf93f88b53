"""Outbox subscribers: orders' events start and change orchestration; receipts and paid invoices
wake waiting steps; the customer's documents are issued and mailed. One subscriber for the order
lifecycle, so a revision or a cancellation is applied after the submission it follows
(per-subscriber publish order)."""

from __future__ import annotations

from django.db.models import Q

from billing.models import InvoiceLine
from oms.kernel import events
from orders.models import OrderLine
from orders.states import OrderStatus

from .customer_documents import invoice_send, order_acknowledgement_send, shipment_notice_send
from .models import StepInstance
from .notifications import jeopardy_digest_send
from .services import (
    order_cancel_apply,
    order_fulfillment_start,
    order_revision_apply,
    order_revision_catch_up,
    step_signal,
)
from .states import StepStatus, TaskType


@events.subscriber(
    "fulfillment.orchestrate",
    topics=["order.submitted", "order.approved", "order.revised", "order.canceled", "order.line_canceled"],
)
def orchestrate(event: events.Event) -> None:
    p = event.payload
    if event.topic == "order.submitted":
        order_fulfillment_start(order_id=p["order_id"])
    elif event.topic == "order.approved":
        # A revision that waited in approval (its cost of change) reaches fulfillment now.
        order_revision_catch_up(order_id=p["order_id"])
        order_fulfillment_start(order_id=p["order_id"])
    elif event.topic == "order.revised":
        if p.get("status") == OrderStatus.PENDING_APPROVAL:
            return  # the processes go on with the revision before; approval applies this one
        diff = p.get("diff") or {}
        # After a revision that waited in approval and was superseded, fulfillment still follows
        # the one before it: the change is worked out from there, not from the event's diff.
        if (
            order_revision_catch_up(order_id=p["order_id"], unless_following=diff.get("from_revision"))
            is None
        ):
            order_revision_apply(order_id=p["order_id"], diff=diff)
    elif event.topic == "order.canceled":
        order_cancel_apply(order_number=p["number"], reason=p.get("reason", ""))
    elif event.topic == "order.line_canceled":
        source_line_id = (
            OrderLine.objects.filter(order_id=p["order_id"], line_number=p["line"])
            .values_list("source_line_id", flat=True)
            .first()
        )
        if source_line_id is not None:
            order_cancel_apply(
                order_number=p["number"], source_line_id=source_line_id, reason=p.get("reason", "")
            )


@events.subscriber("fulfillment.receipts", topics=["stock.received"])
def receipts(event: events.Event) -> None:
    """Stock arrived: wake the WAIT_FOR_RECEIPT steps whose back-order it reserved, and the
    SCHEDULE/RESERVE steps of back-ordered lines of that product (they re-check availability)."""
    p = event.payload
    ids = [
        int(r["demand_id"])
        for r in p.get("reserved_backorders", [])
        if r.get("demand_type") == "fulfillment_line"
    ]
    waiting = StepInstance.objects.filter(status=StepStatus.WAITING, awaited_event="stock.received").filter(
        Q(task_type=TaskType.WAIT_FOR_RECEIPT, process__fulfillment_line_id__in=ids)
        | Q(
            task_type__in=[TaskType.SCHEDULE, TaskType.RESERVE],
            process__fulfillment_line__product_id=p.get("product_id"),
        )
    )
    for line_id in waiting.values_list("process__fulfillment_line_id", flat=True):
        step_signal(line_id=line_id, event="stock.received")


@events.subscriber("fulfillment.rebroker", topics=["stock.received"])
def rebroker(event: events.Event) -> None:
    """Stock arrived (a receipt, a transfer landing, a return): promise again the parked lines
    of its product, set-based, oldest first within demand-class priority (their orders get
    `order.promise_changed`)."""
    from .promising.rebroker import parked_rebroker

    parked_rebroker(product_ids=[event.payload["product_id"]])


@events.subscriber("fulfillment.payments", topics=["invoice.paid"])
def payments(event: events.Event) -> None:
    """An invoice was paid: wake the WAIT_FOR_PAYMENT steps of the fulfillment lines it bills
    (they re-check their invoices at once instead of at their next periodic re-check)."""
    refs = InvoiceLine.objects.filter(
        invoice__number=event.payload["invoice"], fulfillment_ref__startswith="fl:"
    ).values_list("fulfillment_ref", flat=True)
    line_ids = {int(ref.removeprefix("fl:")) for ref in refs}
    waiting = StepInstance.objects.filter(
        status=StepStatus.WAITING,
        awaited_event="invoice.paid",
        task_type=TaskType.WAIT_FOR_PAYMENT,
        process__fulfillment_line_id__in=line_ids,
    )
    for line_id in sorted(set(waiting.values_list("process__fulfillment_line_id", flat=True))):
        step_signal(line_id=line_id, event="invoice.paid")


@events.subscriber(
    "fulfillment.customer_emails", topics=["order.submitted", "shipment.shipped", "invoice.issued"]
)
def customer_emails(event: events.Event) -> None:
    """The order's documents, issued and mailed once each (customer_documents)."""
    p = event.payload
    if event.topic == "order.submitted":
        order_acknowledgement_send(order_number=p["number"])
    elif event.topic == "shipment.shipped":
        shipment_notice_send(
            shipment_number=p["shipment"],
            carrier=p.get("carrier", ""),
            tracking_number=p.get("tracking_number", ""),
        )
    else:
        invoice_send(invoice_number=p["invoice"])


@events.subscriber("fulfillment.jeopardy_digest", topics=["fulfillment.jeopardy_digest"])
def jeopardy_digest(event: events.Event) -> None:
    jeopardy_digest_send(digest=event.payload)

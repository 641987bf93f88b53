"""Progress that fulfillment and billing push down to orders: shipped and billed quantities,
and the line and order statuses they roll up to. Each change walks the transition tables (so an
order never skips a state the tables do not allow), writes audit rows and publishes the status
change to the outbox, from where it reaches the channel's webhooks."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from django.db import transaction

from oms.kernel import events
from oms.kernel.exceptions import NotFound

from ..actors import Actor
from ..audit import event_record
from ..models import EventKind, OrderLine, SalesOrder
from ..states import LINE_TRANSITIONS, ORDER_TRANSITIONS, LineStatus, OrderStatus


def _path(table: dict[str, frozenset[str]], start: str, goal: str) -> list[str]:
    """The shortest chain of legal transitions from start to goal (empty when already there)."""
    if start == goal:
        return []
    seen, queue = {start: None}, deque([start])
    while queue:
        here = queue.popleft()
        for nxt in sorted(table.get(here, frozenset())):
            if nxt not in seen:
                seen[nxt] = here
                if nxt == goal:
                    chain = [nxt]
                    while seen[chain[-1]] != start:
                        chain.append(seen[chain[-1]])
                    return list(reversed(chain))
                queue.append(nxt)
    return []


def _line_target(line: OrderLine, *, closed: bool) -> str:
    if line.status == LineStatus.CANCELED:
        return line.status
    if closed and line.shipped_quantity >= line.quantity:
        return LineStatus.CLOSED
    if line.shipped_quantity >= line.quantity:
        return LineStatus.SHIPPED
    if line.shipped_quantity > 0:
        return LineStatus.PARTIALLY_SHIPPED
    return line.status


def _order_target(order: SalesOrder) -> str:
    lines = [line for line in order.lines.all() if line.status != LineStatus.CANCELED]
    if not lines or order.status in (OrderStatus.CANCELED, OrderStatus.CLOSED):
        return order.status
    if all(line.status == LineStatus.CLOSED for line in lines):
        return OrderStatus.CLOSED
    if all(line.status in (LineStatus.SHIPPED, LineStatus.CLOSED) for line in lines):
        return OrderStatus.SHIPPED
    if any(line.shipped_quantity > 0 for line in lines):
        return OrderStatus.PARTIALLY_SHIPPED
    return order.status


def _publish(topic: str, order: SalesOrder, **data) -> None:
    events.publish(
        topic,
        {"order_id": order.pk, "number": order.number, "channel": order.channel.code, **data},
        aggregate=("order", order.number),
    )


@transaction.atomic
def line_fulfillment_progress(
    *,
    line_id: int,
    shipped_delta: Decimal = Decimal(0),
    billed_delta: Decimal = Decimal(0),
    closed: bool = False,
    reference: str = "",
) -> OrderLine:
    """Add shipped/billed quantities to a line (current revision) and roll the statuses up.
    `closed` says fulfillment finished every slice of the line."""
    line = OrderLine.objects.select_related("order").filter(pk=line_id).first()
    if line is None:
        raise NotFound("No such order line.")
    order = SalesOrder.objects.select_for_update(of=("self",)).select_related("channel").get(pk=line.order_id)
    line = OrderLine.objects.select_for_update(of=("self",)).get(pk=line_id)
    actor = Actor.system()
    fields = []
    if shipped_delta:
        line.shipped_quantity += shipped_delta
        fields.append("shipped_quantity")
    if billed_delta:
        line.billed_quantity += billed_delta
        fields.append("billed_quantity")
    before = line.status
    for step in _path(LINE_TRANSITIONS, line.status, _line_target(line, closed=closed)):
        line.status = step
    if line.status != before:
        fields.append("status")
    if fields:
        line.save(update_fields=fields)
    if line.status != before:
        event_record(
            order,
            actor,
            EventKind.STATUS_CHANGED,
            line=line,
            before={"status": before},
            after={
                "status": line.status,
                "shipped": str(line.shipped_quantity),
                "billed": str(line.billed_quantity),
            },
            reason=reference,
        )
        _publish(
            "order.line.status_changed",
            order,
            line=line.line_number,
            source_line_id=line.source_line_id,
            before=before,
            status=line.status,
            shipped_quantity=str(line.shipped_quantity),
            billed_quantity=str(line.billed_quantity),
        )
    order_before = order.status
    for step in _path(ORDER_TRANSITIONS, order.status, _order_target(order)):
        order.status = step
    if order.status != order_before:
        order.version += 1
        order.save(update_fields=["status", "version", "updated_at"])
        event_record(
            order,
            actor,
            EventKind.STATUS_CHANGED,
            before={"status": order_before},
            after={"status": order.status},
        )
        _publish("order.status_changed", order, before=order_before, status=order.status)
    return line

"""Fulfillment audit rows and status changes of fulfillment lines (one path for both)."""

from __future__ import annotations

from typing import Any

from oms.kernel import events
from oms.kernel.context import get_correlation_id

from .models import FulfillmentEvent, FulfillmentLine, ProcessInstance, StepInstance
from .states import FULFILLMENT_LINE_TRANSITIONS, ensure_transition


def fevent(
    kind: str,
    *,
    line: FulfillmentLine | None = None,
    process: ProcessInstance | None = None,
    step: StepInstance | None = None,
    order_number: str = "",
    actor: str = "system",
    before: Any = None,
    after: Any = None,
    data: dict[str, Any] | None = None,
) -> FulfillmentEvent:
    return FulfillmentEvent.objects.create(
        order_number=order_number or (line.order_number if line else ""),
        fulfillment_line=line,
        process=process,
        step=step,
        kind=kind,
        actor=actor,
        before=before,
        after=after,
        data=data or {},
        correlation_id=get_correlation_id(),
    )


def channel_code(line: FulfillmentLine) -> str:
    return line.order.channel.code


def fl_set_status(
    line: FulfillmentLine, target: str, *, reason: str = "", step: StepInstance | None = None
) -> None:
    """Move a (locked) fulfillment line along its table, audit it and publish the change."""
    if line.status == target:
        return
    ensure_transition(FULFILLMENT_LINE_TRANSITIONS, line.status, target)
    before = line.status
    line.status = target
    line.save()
    fevent(
        "line_status",
        line=line,
        step=step,
        before={"status": before},
        after={"status": target},
        data={"reason": reason} if reason else None,
    )
    events.publish(
        "fulfillment.line.status_changed",
        {
            "number": line.order_number,
            "channel": channel_code(line),
            "fulfillment_line": line.pk,
            "source_line_id": line.source_line_id,
            "quantity": str(line.quantity),
            "before": before,
            "status": target,
        },
        aggregate=("order", line.order_number),
    )

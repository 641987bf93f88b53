"""Audit rows for every change a person, a channel or the system makes to an order."""

from __future__ import annotations

from typing import Any

from oms.kernel.context import get_correlation_id

from .actors import Actor
from .models import OrderEvent, OrderLine, SalesOrder


def event_build(
    order: SalesOrder,
    actor: Actor,
    kind: str,
    *,
    line: OrderLine | None = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """An unsaved event, for bulk_create with its siblings (the capture writes them in one go)."""
    return OrderEvent(
        order=order,
        line=line,
        kind=kind,
        actor=actor.label,
        user=actor.user,
        before=before,
        after=after,
        reason=reason,
        data=data or {},
        correlation_id=get_correlation_id() or order.correlation_id,
    )


def event_record(order: SalesOrder, actor: Actor, kind: str, **kwargs: Any) -> OrderEvent:
    event = event_build(order, actor, kind, **kwargs)
    event.save()
    return event

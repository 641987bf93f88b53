"""Stages: the audit trail (every row of the capture in one statement), then what the order
means outside orders: coupons redeemed, `order.submitted` (or `order.revised` with its diff) on
the outbox, the order added to the customer's credit exposure."""

from __future__ import annotations

from typing import Any

from customers.services import credit_exposure_adjust
from oms.kernel import events, fastinsert
from pricing.services import coupon_redeem

from ....audit import event_build
from ....models import EventKind, OrderHold, SalesOrder
from ...revisions import lines_diff
from ..context import Capture


def record_events(c: Capture) -> None:
    current = c.current
    if current is not None:
        c.diff = lines_diff(current, c.lines)
        c.events.append(
            event_build(
                current,
                c.actor,
                EventKind.SUPERSEDED,
                before={"is_current": True},
                after={"is_current": False, "superseded_by_revision": c.order.revision},
            )
        )
    fastinsert.insert(c.events)


def publish(c: Capture) -> None:
    order = c.order
    for code in c.data.coupons:
        applied = next((cp for cp in c.priced.coupons if cp.code == code and cp.applied), None)
        if applied is not None:
            coupon_redeem(code=code, order_ref=f"{order.number}", customer_id=c.customer.pk)
    payload = _payload(order, c.holds)
    if c.current is None:
        events.publish("order.submitted", payload, aggregate=("order", order.number))
    else:
        events.publish("order.revised", {**payload, "diff": c.diff}, aggregate=("order", order.number))
    if c.plan.credit_amount:
        credit_exposure_adjust(customer_id=c.customer.pk, open_orders_delta=c.plan.credit_amount)
    order._prefetched_objects_cache = {"lines": c.lines, "holds": c.holds}  # the response needs no re-read


def _payload(order: SalesOrder, holds: list[OrderHold]) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "number": order.number,
        "revision": order.revision,
        "channel": order.channel.code,
        "source_order_id": order.source_order_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "currency": order.currency,
        "total": str(order.total),
        "holds": [h.hold_code.code for h in holds],
    }

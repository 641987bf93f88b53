"""Stage: the cost of a revision at the current state of fulfillment. The admin's cost rules
(fulfillment's, through `orders.change_cost`) price what the change undoes downstream; over the
policy's threshold the revision waits in approval with the cost in its reasons, over the refusal
limit it is refused (409, nothing written). A first submission costs nothing."""

from __future__ import annotations

from ....change_cost import ChangeTooCostly, change_cost_assess, change_request_for
from ....states import OrderStatus, ensure_order_transition
from ..context import Capture


def assess_change_cost(c: Capture) -> None:
    if c.current is None:
        return
    request = change_request_for(
        current=c.current,
        new_lines=[(line.source_line_id, line.quantity, line.requested_ship_date) for line in c.data.lines],
        shipping_after=c.priced.totals.shipping,
    )
    cost = change_cost_assess(request)
    c.change_cost = cost
    if cost.refusal:
        raise ChangeTooCostly(cost.refusal, change_cost=cost.as_dict())
    if cost.needs_approval:
        c.plan.approval_reasons = [*c.plan.approval_reasons, *cost.approval_reasons]
        c.plan.status = OrderStatus.PENDING_APPROVAL
        ensure_order_transition(OrderStatus.DRAFT, c.plan.status)

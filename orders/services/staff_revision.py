"""A staff edit of an open order's quantities: the next revision of the order, built from the
current one, through the same capture pipeline a channel's revision takes. Before the person
confirms, `revision_review` says what the change costs downstream (the cost-of-change assessor)
and whether it will wait for approval; confirming submits it once per form (its idempotency key).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.kernel.exceptions import StaleRevision

from ..actors import Actor
from ..change_cost import ChangeCost, ChangeTooCostly, change_cost_assess, change_request_for
from ..inputs import AddressInput, CustomerInput, LineInput, OrderInput
from ..models import SalesOrder
from ..states import OrderStatus
from .entry import EntryOutcome, order_submit_once
from .preview import order_preview


@dataclass(frozen=True)
class RevisionReview:
    cost: ChangeCost
    status: str  # what the revision will be: open, or pending approval
    approval_reasons: list[str]
    total: Decimal
    currency: str


def revision_input(order: SalesOrder, quantities: dict[str, Decimal]) -> OrderInput:
    """The next revision of `order` with the lines' new quantities (by source line id; 0 or
    missing removes a line). Everything else is as the current revision has it; prices are
    worked out again (a trusted channel's source prices are kept)."""
    lines = []
    for line in order.lines.select_related("product").order_by("line_number"):
        quantity = quantities.get(line.source_line_id, line.quantity)
        if quantity <= 0:
            continue
        lines.append(
            LineInput(
                source_line_id=line.source_line_id,
                sku=line.product.sku,
                quantity=quantity,
                uom=line.uom,
                ship_to=AddressInput.from_dict(line.ship_to),
                requested_ship_date=line.requested_ship_date,
                ship_method=line.ship_method,
                unit_price=line.unit_net_price if line.price_source == "source" else None,
            )
        )
    customer = order.customer
    return OrderInput(
        source_order_id=order.source_order_id,
        customer=CustomerInput(
            account_number=customer.account_number or "",
            email="" if customer.account_number else customer.email,
            name="" if customer.account_number else customer.name,
        ),
        lines=tuple(lines),
        revision=order.revision + 1,
        currency=order.currency,
        customer_po=order.customer_po,
        bill_to=AddressInput.from_dict(order.bill_to),
        ship_to=AddressInput.from_dict(order.ship_to),
        requested_delivery_date=order.requested_delivery_date,
        ship_method=order.ship_method,
        priority=order.priority,
        demand_class=order.demand_class,
        notes=order.notes,
    )


def _ensure_current(order: SalesOrder, revision: int) -> None:
    if not order.is_current or order.revision != revision:
        raise StaleRevision(
            f"Order {order.number} was revised by someone else after you opened it. Nothing was "
            "saved: reload the page to see the change, then try again."
        )


def revision_review(
    *, order: SalesOrder, actor: Actor, quantities: dict[str, Decimal], revision: int
) -> RevisionReview:
    """What confirming the edit would do, without writing anything: its cost of change and
    whether it will wait in approval. Raises the DomainError the capture would raise."""
    _ensure_current(order, revision)
    data = revision_input(order, quantities)
    preview = order_preview(channel=order.channel, actor=actor, data=data)
    cost = change_cost_assess(
        change_request_for(
            current=order,
            new_lines=[(ln.source_line_id, ln.quantity, ln.requested_ship_date) for ln in data.lines],
            shipping_after=preview.priced.totals.shipping,
        )
    )
    if cost.refusal:
        raise ChangeTooCostly(cost.refusal, change_cost=cost.as_dict())
    reasons = [*preview.approval_reasons, *cost.approval_reasons]
    return RevisionReview(
        cost=cost,
        status=OrderStatus.PENDING_APPROVAL if reasons else OrderStatus.OPEN,
        approval_reasons=reasons,
        total=preview.priced.totals.total,
        currency=preview.priced.currency,
    )


def order_revise_once(
    *, order: SalesOrder, actor: Actor, quantities: dict[str, Decimal], revision: int, key: str
) -> EntryOutcome:
    """Submit the edit as the order's next revision (once per form key)."""
    _ensure_current(order, revision)
    return order_submit_once(
        channel=order.channel, actor=actor, data=revision_input(order, quantities), key=key
    )


__all__ = ["RevisionReview", "order_revise_once", "revision_input", "revision_review"]

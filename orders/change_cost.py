"""The cost of a change: the seam through which a revision asks what it costs downstream.

Orders sit below fulfillment in the layers, so orders cannot ask fulfillment directly what it
costs to lower a quantity after the shipment request went to the warehouse. Fulfillment registers
one assessor here (from its `AppConfig.ready`, as it registers its outbox subscribers); capture and
the staff edit call `change_cost_assess` and get facts back: the cost, its items, and whether the
admin's policy wants an approval (or refuses the change). Orders decides what to do with them (the
order waits in approval; a refusal is a 409), as it does with pricing's guardrails.

Without an assessor (a deployment without fulfillment) every change costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from oms.kernel.exceptions import Conflict


@dataclass(frozen=True)
class LineChange:
    """One line of the current revision as the change leaves it (quantity 0: removed)."""

    source_line_id: str
    quantity_before: Decimal
    quantity_after: Decimal
    unit_net_price: Decimal
    requested_ship_date_before: date | None = None
    requested_ship_date_after: date | None = None

    @property
    def lowered_by(self) -> Decimal:
        return max(self.quantity_before - self.quantity_after, Decimal(0))


@dataclass(frozen=True)
class ChangeRequest:
    order_id: int  # the current revision
    order_number: str
    channel_id: int
    currency: str
    lines: tuple[LineChange, ...]
    shipping_before: Decimal = Decimal(0)
    shipping_after: Decimal = Decimal(0)


@dataclass(frozen=True)
class CostItem:
    kind: str
    label: str
    amount: Decimal
    source_line_id: str = ""
    reference: str = ""  # the shipment request or purchase order it concerns

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "label": self.label,
            "amount": str(self.amount),
            "source_line_id": self.source_line_id,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class ChangeCost:
    currency: str
    total: Decimal = Decimal(0)
    items: tuple[CostItem, ...] = ()
    approval_reasons: tuple[str, ...] = ()
    refusal: str = ""  # the policy refuses a change this costly
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def needs_approval(self) -> bool:
        return bool(self.approval_reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "total": str(self.total),
            "items": [item.as_dict() for item in self.items],
            "approval_required": self.needs_approval,
            "approval_reasons": list(self.approval_reasons),
            "notes": list(self.notes),
        }


class ChangeTooCostly(Conflict):
    """409: the policy refuses a change above its limit; the answer carries the cost."""

    code = "change_too_costly"


Assessor = Callable[[ChangeRequest], ChangeCost]
_assessor: list[Assessor] = []


def register_assessor(assessor: Assessor) -> Assessor:
    """Install the one assessor (fulfillment's); registering again replaces it."""
    _assessor[:] = [assessor]
    return assessor


def change_cost_assess(request: ChangeRequest) -> ChangeCost:
    """What the change costs at the current state of fulfillment (reads only)."""
    if not _assessor:
        return ChangeCost(currency=request.currency)
    return _assessor[0](request)


def change_request_for(
    *, current, new_lines: list[tuple[str, Decimal, date | None]], shipping_after: Decimal | None = None
) -> ChangeRequest:
    """The request for revising `current` (a SalesOrder with its lines) to `new_lines`
    ((source line id, quantity, requested ship date) each); lines not given are removed."""
    given = {sid: (qty, ship) for sid, qty, ship in new_lines}
    changes = []
    for line in current.lines.all():
        qty, ship = given.get(line.source_line_id, (Decimal(0), None))
        changes.append(
            LineChange(
                source_line_id=line.source_line_id,
                quantity_before=line.quantity,
                quantity_after=qty,
                unit_net_price=line.unit_net_price,
                requested_ship_date_before=line.requested_ship_date,
                requested_ship_date_after=ship if line.source_line_id in given else None,
            )
        )
    return ChangeRequest(
        order_id=current.pk,
        order_number=current.number,
        channel_id=current.channel_id,
        currency=current.currency,
        lines=tuple(changes),
        shipping_before=current.shipping_total,
        shipping_after=current.shipping_total if shipping_after is None else shipping_after,
    )


__all__ = [
    "ChangeCost",
    "ChangeRequest",
    "ChangeTooCostly",
    "CostItem",
    "LineChange",
    "change_cost_assess",
    "change_request_for",
    "register_assessor",
]

"""Revisions: a higher revision is a full snapshot that supersedes the current one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from inventory.models import Demand, Reservation
from inventory.services import backorder_cancel, reservation_release
from inventory.states import DemandStatus, ReservationStatus
from oms.kernel.exceptions import Conflict

from ..inputs import OrderInput
from ..models import OrderLine, SalesOrder

DEMAND_TYPE = "order_line"


def revision_check(current: SalesOrder, data: OrderInput) -> dict[str, tuple[Decimal, Decimal]]:
    """Refuse a revision that takes a line below what already shipped or was billed; return the
    shipped and billed quantities the new revision's lines carry over (by source line id)."""
    old = {line.source_line_id: line for line in current.lines.all()}
    new = {line.source_line_id: line for line in data.lines}
    problems: dict[str, list[str]] = {}
    for source_id, line in old.items():
        floor = max(line.shipped_quantity, line.billed_quantity)
        if not floor:
            continue
        given = new.get(source_id)
        quantity = given.quantity if given else Decimal(0)
        if quantity < floor:
            what = "shipped" if line.shipped_quantity >= line.billed_quantity else "billed"
            problems[f"lines[{source_id}].quantity"] = [
                f"Line {source_id}: {quantity} is below the {what} quantity {floor}; it cannot be lowered."
            ]
    if problems:
        raise Conflict(
            "The revision would lower lines below what was already shipped or billed.", fields=problems
        )
    return {sid: (line.shipped_quantity, line.billed_quantity) for sid, line in old.items()}


def release_stock_for(order: SalesOrder) -> None:
    """Give back the order's reservations and drop its open back-orders."""
    demand_ids = [str(pk) for pk in order.lines.values_list("pk", flat=True)]
    active = list(
        Reservation.objects.filter(
            demand_type=DEMAND_TYPE, demand_id__in=demand_ids, status=ReservationStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    if active:
        reservation_release(reservation_ids=active)
    for demand_id in Demand.objects.filter(
        demand_type=DEMAND_TYPE, demand_id__in=demand_ids, status=DemandStatus.OPEN
    ).values_list("pk", flat=True):
        backorder_cancel(demand_id=demand_id)


def _line_facts(line: OrderLine) -> dict[str, Any]:
    return {
        "sku": line.product.sku if hasattr(line, "product") else None,
        "quantity": str(line.quantity),
        "requested_ship_date": line.requested_ship_date.isoformat() if line.requested_ship_date else None,
        "ship_to": line.ship_to,
        "unit_net_price": str(line.unit_net_price),
    }


def lines_diff(previous: SalesOrder, new_lines: list[OrderLine]) -> dict[str, Any]:
    """Line-level diff for orchestration to compensate: added, removed, changed fields."""
    old = {line.source_line_id: line for line in previous.lines.select_related("product")}
    new = {line.source_line_id: line for line in new_lines}
    changed = []
    for sid in sorted(old.keys() & new.keys()):
        before, after = _line_facts(old[sid]), _line_facts(new[sid])
        fields = {
            k: {"before": before[k], "after": after[k]}
            for k in ("quantity", "requested_ship_date", "ship_to", "unit_net_price")
            if before[k] != after[k]
            and not (k == "quantity" and Decimal(before[k]) == Decimal(after[k]))
            and not (k == "unit_net_price" and Decimal(before[k]) == Decimal(after[k]))
        }
        if fields:
            changed.append({"source_line_id": sid, "changes": fields})
    return {
        "from_revision": previous.revision,
        "added": [
            {"source_line_id": sid, **_line_facts(new[sid])} for sid in sorted(new.keys() - old.keys())
        ],
        "removed": [
            {"source_line_id": sid, **_line_facts(old[sid])} for sid in sorted(old.keys() - new.keys())
        ],
        "changed": changed,
    }

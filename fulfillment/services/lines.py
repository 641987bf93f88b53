"""Fulfillment lines: created from a captured order's lines, split when part of a line goes its
own way (a partial shipment, a partial sourcing)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from orders.models import SalesOrder
from orders.states import LineStatus, OrderStatus

from ..audit import fevent
from ..models import AssignmentRule, FulfillmentLine, ProcessInstance
from ..sourcing import initial_mode
from ..states import FulfillmentLineStatus
from .assignment import process_for
from .engine import process_start

STARTABLE = (OrderStatus.OPEN, OrderStatus.PARTIALLY_SHIPPED)


@transaction.atomic
def order_fulfillment_start(*, order_id: int) -> list[ProcessInstance]:
    """Give each line of a current, open order its fulfillment line and process (once: lines
    that already have one are left alone, so a redelivered event starts nothing twice)."""
    order = (
        SalesOrder.objects.select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk=order_id)
        .first()
    )
    if order is None or not order.is_current or order.status not in STARTABLE:
        return []
    started_ids = set(
        FulfillmentLine.objects.filter(order_number=order.number).values_list("source_line_id", flat=True)
    )
    rules = list(AssignmentRule.objects.filter(active=True).select_related(None).order_by("priority", "pk"))
    processes = []
    for line in order.lines.select_related("product").order_by("line_number"):
        if line.source_line_id in started_ids or line.status == LineStatus.CANCELED:
            continue
        quantity = line.quantity - line.shipped_quantity
        if quantity <= 0:
            continue
        mode = initial_mode(product_id=line.product_id)
        definition = process_for(order=order, line=line, mode=mode, rules=rules)
        fl = FulfillmentLine.objects.create(
            order=order,
            order_line=line,
            order_number=order.number,
            source_line_id=line.source_line_id,
            product_id=line.product_id,
            quantity=quantity,
            mode=mode,
        )
        processes.append(process_start(line=fl, definition=definition))
    return processes


def line_split(
    *,
    line: FulfillmentLine,
    keep: Decimal,
    start_at: int,
    status: str,
    reason: str,
    step=None,
) -> FulfillmentLine:
    """Cut `line` down to `keep`; the rest becomes a new line with its own process on the same
    definition version, resuming at step `start_at` (the earlier steps count as done for it)."""
    rest = line.quantity - keep
    new = FulfillmentLine.objects.create(
        order=line.order,
        order_line=line.order_line,
        order_number=line.order_number,
        source_line_id=line.source_line_id,
        product_id=line.product_id,
        quantity=rest,
        status=status,
        mode=line.mode,
        warehouse=line.warehouse if status != FulfillmentLineStatus.AWAITING_SCHEDULING else None,
        scheduled_ship_date=line.scheduled_ship_date,
        promised_date=line.promised_date,
        parent=line,
    )
    line.quantity = keep
    line.save(update_fields=["quantity", "updated_at"])
    fevent(
        "line_split",
        line=line,
        step=step,
        before={"quantity": str(keep + rest)},
        after={"kept": str(keep), "new_line": new.pk, "new_quantity": str(rest)},
        data={"reason": reason},
    )
    process = line.process
    done = {s.sequence: s for s in process.steps.all()}
    process_start(line=new, definition=process.definition, start_at=start_at, completed_before=done)
    return new

"""Stage: reservation at capture (channels with `reserve_at_capture`), over the channel's ranked
warehouses; a shortage is back-ordered or refused, per the channel's policy."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db.models import F

from inventory.services import ReserveLine, backorder_create, stock_reserve, stock_reserve_ranked
from oms.kernel.exceptions import InsufficientStock

from ....actors import Actor
from ....audit import event_build
from ....models import ChannelOrderPolicy, EventKind, OrderLine, SalesOrder, ShortagePolicy
from ....states import LineStatus
from ..context import DEMAND_TYPE, Capture


def reserve(c: Capture) -> None:
    if not c.channel.reserve_at_capture:
        return
    c.backordered = reserve_lines(c.order, c.lines, c.factors, c.policy, c.warehouse_ids)
    for line in c.backordered:
        c.events.append(
            event_build(
                c.order,
                Actor.system(),
                EventKind.BACKORDERED,
                line=line,
                after={"status": LineStatus.BACKORDERED, "quantity": str(line.quantity)},
                reason="Not enough stock at the channel's warehouses.",
            )
        )


def reserve_lines(
    order: SalesOrder,
    lines: list[OrderLine],
    factors: dict[tuple[int, str], Decimal],
    policy: Callable[[], ChannelOrderPolicy],
    warehouse_ids: list[int],
) -> list[OrderLine]:
    """Reserve over the channel's ranked warehouses; short lines are back-ordered or the order is
    refused, per channel policy. Returns the back-ordered lines. The lines were written with the
    first-ranked warehouse; they are updated only when another one serves, or for back-orders."""
    if not warehouse_ids:
        raise InsufficientStock("The channel has no warehouse to reserve from.")
    requests = [
        ReserveLine(
            product_id=line.product_id,
            warehouse_id=warehouse_ids[0],
            quantity=line.quantity * factors[(line.product_id, line.uom)],
            demand_type=DEMAND_TYPE,
            demand_id=str(line.pk),
            demand_class=order.demand_class,
            need_date=line.requested_ship_date or order.requested_delivery_date,
        )
        for line in lines
    ]
    try:
        warehouse_id, _ = stock_reserve_ranked(lines=requests, warehouse_ids=warehouse_ids)
        if warehouse_id != warehouse_ids[0]:
            OrderLine.objects.filter(order=order).update(warehouse_id=warehouse_id)
            for line in lines:
                line.warehouse_id = warehouse_id
        return []
    except InsufficientStock:
        if policy().shortage_policy == ShortagePolicy.REJECT:
            raise
    # Back-order policy: take what the first ranked warehouse has, back-order the rest.
    result = stock_reserve(lines=requests, allow_partial=True)
    short = {s.index for s in result.shortfalls}
    short_lines = [lines[i] for i in sorted(short)]
    if short_lines:
        OrderLine.objects.filter(pk__in=[line.pk for line in short_lines]).update(
            status=LineStatus.BACKORDERED, backordered_quantity=F("quantity"), warehouse_id=None
        )
    for i in sorted(short):
        req = requests[i]
        backorder_create(
            demand_type=DEMAND_TYPE,
            demand_id=req.demand_id,
            product_id=req.product_id,
            quantity=req.quantity,
            warehouse_id=None,
            demand_class=req.demand_class,
            need_date=req.need_date,
        )
        lines[i].status = LineStatus.BACKORDERED
        lines[i].backordered_quantity = lines[i].quantity
        lines[i].warehouse_id = None
    return short_lines

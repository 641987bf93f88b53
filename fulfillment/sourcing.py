"""The sourcing policy behind SCHEDULE: one replaceable function.

Plain policy (a later rule-based sourcing and promising replaces `source_line` without touching
the engine): a product supplied by drop ship or back-to-back goes that way; otherwise the
channel's ranked warehouses are tried in this order: those in the ship-to's region, then in its
country, then the rest of the ranking; the first with enough available stock serves the whole
line. If none has it all, the line's policy decides: split (take what the best one has, the rest
waits) or back-order the whole line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from inventory.models import StockPosition, Warehouse
from inventory.selectors import channel_warehouse_ids
from oms.kernel.exceptions import ValidationFailed
from orders.models import ChannelOrderPolicy, SalesOrder, ShortagePolicy

from .models import FulfillmentLine, ProductSupply
from .states import FulfillmentMode


@dataclass(frozen=True)
class SourcingDecision:
    mode: str
    warehouse_id: int | None
    quantity: Decimal  # what the warehouse serves now (0: back-order the line)
    ship_date: date
    split_allowed: bool = True


def initial_mode(*, product_id: int) -> str:
    supply = ProductSupply.objects.filter(product_id=product_id).first()
    return supply.mode if supply else FulfillmentMode.WAREHOUSE


def _ship_date(line: FulfillmentLine, lead_days: int) -> date:
    earliest = timezone.localdate() + timedelta(days=lead_days)
    wanted = line.order_line.requested_ship_date
    return max(earliest, wanted) if wanted else earliest


def ranked_warehouses(*, order: SalesOrder, ship_to: dict) -> list[Warehouse]:
    ranking = channel_warehouse_ids(channel_id=order.channel_id)
    by_id = Warehouse.objects.in_bulk(ranking)
    country, region = (ship_to or {}).get("country", ""), (ship_to or {}).get("region", "")

    def key(item: tuple[int, int]) -> tuple[int, int]:
        rank, wid = item
        wh = by_id[wid]
        if country and wh.country == country and region and wh.region == region:
            return (0, rank)
        if country and wh.country == country:
            return (1, rank)
        return (2, rank)

    return [by_id[wid] for _, wid in sorted(enumerate(ranking), key=key) if wid in by_id]


def source_line(*, line: FulfillmentLine) -> SourcingDecision:
    order = line.order
    supply = ProductSupply.objects.filter(product_id=line.product_id).first()
    mode = supply.mode if supply else FulfillmentMode.WAREHOUSE
    if mode == FulfillmentMode.DROP_SHIP:
        if supply.supplier_warehouse_id is None:
            raise ValidationFailed("Drop ship needs the supplier's ship-from location.")
        return SourcingDecision(
            mode, supply.supplier_warehouse_id, line.quantity, _ship_date(line, supply.lead_time_days)
        )
    ship_to = line.order_line.ship_to or order.ship_to
    candidates = ranked_warehouses(order=order, ship_to=ship_to)
    if not candidates:
        raise ValidationFailed("The channel has no active warehouse to source from.")
    if mode == FulfillmentMode.BACK_TO_BACK:
        # Bought for this order and received at the best-ranked warehouse for the ship-to.
        return SourcingDecision(
            mode, candidates[0].pk, line.quantity, _ship_date(line, supply.lead_time_days)
        )
    available = dict(
        StockPosition.objects.filter(product_id=line.product_id, warehouse_id__in=[w.pk for w in candidates])
        .annotate(free=F("on_hand") - F("reserved"))
        .values_list("warehouse_id", "free")
    )
    for wh in candidates:
        if available.get(wh.pk, Decimal(0)) >= line.quantity:
            return SourcingDecision(mode, wh.pk, line.quantity, _ship_date(line, 0))
    policy = ChannelOrderPolicy.objects.filter(channel_id=order.channel_id).first()
    split_allowed = policy is None or policy.shortage_policy == ShortagePolicy.BACKORDER
    if split_allowed:
        for wh in candidates:
            free = available.get(wh.pk, Decimal(0))
            if free > 0:
                return SourcingDecision(mode, wh.pk, free, _ship_date(line, 0))
    return SourcingDecision(mode, None, Decimal(0), _ship_date(line, 0), split_allowed)

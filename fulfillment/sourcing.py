"""The sourcing policy behind SCHEDULE: one replaceable function, `source_line`.

A product supplied by drop ship or back-to-back (`ProductSupply`) goes that way. Every other line
is promised by the promising engine (`fulfillment.promising`): the most specific sourcing rule
for the ship-to and the item gives the ranked sources, time-phased ATP, capacity, allocation by
demand class and the rule's ranking (rank or profit) choose the source and the dates, and the
line's promise (source, dates, mode, trace) is recorded. When no rule matches, the channel's
ranked warehouses stand in as the rule (those in the ship-to's region, then its country, then the
rest). If no source has it all, the channel's shortage policy decides: split (this slice takes
what the best source has, the rest is sourced again) or back-order the whole line, dated from
the first receipt that covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from inventory.models import Warehouse
from inventory.selectors import channel_warehouse_ids
from oms.kernel.exceptions import ValidationFailed
from orders.models import ChannelOrderPolicy, SalesOrder, ShortagePolicy

from .models import FulfillmentLine, LinePromise, ProductSupply
from .promising.engine import LineRequest, Mode, Rule, Source
from .promising.models import PromiseStatus
from .promising.rebroker import parked_rebroker
from .promising.records import line_promise_record
from .promising.services import PromiseDraft, capacity_consume, order_promise
from .states import FulfillmentLineStatus as FLS
from .states import FulfillmentMode


@dataclass(frozen=True)
class SourcingDecision:
    mode: str
    warehouse_id: int | None
    quantity: Decimal  # what the warehouse serves now (0: back-order the line)
    ship_date: date
    split_allowed: bool = True
    promised_date: date | None = None  # the promised arrival (None: ship date + default transit)


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
    if mode == FulfillmentMode.BACK_TO_BACK:
        if not candidates:
            raise ValidationFailed("The channel has no active warehouse to source from.")
        # Bought for this order and received at the best-ranked warehouse for the ship-to.
        return SourcingDecision(
            mode, candidates[0].pk, line.quantity, _ship_date(line, supply.lead_time_days)
        )
    policy = ChannelOrderPolicy.objects.filter(channel_id=order.channel_id).first()
    split_allowed = policy is None or policy.shortage_policy == ShortagePolicy.BACKORDER
    parked = _parked(line)
    if parked is not None:
        return parked
    return _promise(line, order, ship_to, candidates, split_allowed)


def _parked(line: FulfillmentLine) -> SourcingDecision | None:
    """A parked line waits its turn: re-brokering (oldest first within demand-class priority)
    decides whether the stock that arrived is its; until then it stays back-ordered."""
    promise = LinePromise.objects.filter(fulfillment_line_id=line.pk).first()
    if promise is None:
        return None
    rebrokered = promise.status == PromiseStatus.PROMISED and promise.mode == Mode.WAREHOUSE
    if not (promise.status == PromiseStatus.PARKED or (rebrokered and line.status == FLS.BACKORDERED)):
        return None
    if promise.status == PromiseStatus.PARKED:
        parked_rebroker(product_ids=[line.product_id])
        promise.refresh_from_db()
    if promise.status == PromiseStatus.PARKED:
        return SourcingDecision(FulfillmentMode.WAREHOUSE, None, Decimal(0), _ship_date(line, 0))
    return SourcingDecision(
        FulfillmentMode.WAREHOUSE, promise.warehouse_id, line.quantity, promise.scheduled_ship_date,
        promised_date=promise.promised_date,
    )  # fmt: skip


def _fallback_rule(candidates: list[Warehouse]) -> Rule:
    transit = settings.OMS_PLANNING_TRANSIT_DAYS
    return Rule(
        id=None,
        name="the channel's warehouse ranking",
        sources=tuple(Source(w.pk, rank, transit_days=transit) for rank, w in enumerate(candidates, start=1)),
    )


def _promise(line, order, ship_to, candidates, split_allowed) -> SourcingDecision:
    request = LineRequest(
        key=str(line.pk),
        sku=line.product.sku,
        quantity=line.quantity,
        need_date=line.order_line.requested_ship_date,
        unit_price=line.order_line.unit_net_price,
        allow_split=split_allowed,
    )
    draft = PromiseDraft(
        ship_to=ship_to or {},
        lines=[request],
        demand_class=order.demand_class,
        fallback=_fallback_rule(candidates) if candidates else None,
    )
    # Drop ship needs its own process (a purchase order to the supplier): SCHEDULE keeps to stock.
    result = order_promise(draft=draft, allow_drop_ship=False).lines[0]
    if result.rule_id is None and not candidates:
        raise ValidationFailed("The channel has no active warehouse to source from.")
    piece = result.pieces[0] if result.pieces else None
    line_promise_record(line=line, result=result, demand_class=order.demand_class)
    if piece is None:
        return SourcingDecision(
            FulfillmentMode.WAREHOUSE, None, Decimal(0), _ship_date(line, 0), split_allowed
        )
    if piece.mode == Mode.BACKORDER:
        return SourcingDecision(
            FulfillmentMode.WAREHOUSE, None, Decimal(0), piece.ship_date, split_allowed, piece.arrival_date
        )
    capacity_consume(pieces=[piece])
    return SourcingDecision(
        FulfillmentMode.WAREHOUSE, piece.warehouse_id, piece.quantity, piece.ship_date, split_allowed,
        piece.arrival_date,
    )  # fmt: skip

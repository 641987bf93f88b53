"""Re-brokering: lines that nothing could fill are parked (`LinePromise.status = parked`); when
stock arrives (`stock.received`) or on a schedule, they are promised again, set-based.

One statement does it: per product, the parked lines queue by demand class (strategic, then
priority, then standard) and, within a class, oldest first; free stock (on hand - reserved) of
the active warehouses and stores lines up behind them; a line is promised from the warehouse
whose stretch of that supply holds the whole line (and, when the line's rule names its
sources, only from one of them, with that source's transit time). The promises and the
fulfillment lines' promised dates are updated in the same statement, and each order whose dates
moved gets one `order.promise_changed` event (a webhook to its channel).

Re-brokering promises; it does not reserve. The line's waiting SCHEDULE step, woken by the same
receipt, still takes the stock under row locks (a promise can cost a retry, never an oversell).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from oms.kernel import events

_SQL = """
WITH parked AS (
  SELECT lp.id, lp.product_id, lp.quantity, lp.rule_id, lp.fulfillment_line_id,
         sum(lp.quantity) OVER (
           PARTITION BY lp.product_id
           ORDER BY CASE lp.demand_class WHEN 'strategic' THEN 2 WHEN 'priority' THEN 1 ELSE 0 END DESC,
                    lp.created_at, lp.id
         ) - lp.quantity AS q_start
    FROM fulfillment_linepromise lp
   WHERE lp.status = 'parked' {product_filter}
),
pending AS (
  -- promised again earlier but not reserved yet: that stock is spoken for
  SELECT lp.product_id, lp.warehouse_id, sum(lp.quantity) AS qty
    FROM fulfillment_linepromise lp JOIN fulfillment_fulfillmentline f ON f.id = lp.fulfillment_line_id
   WHERE lp.status = 'promised' AND lp.mode = 'warehouse' AND f.reservation_id IS NULL
     AND f.status IN ('awaiting_scheduling', 'scheduled', 'backordered')
     AND lp.product_id IN (SELECT DISTINCT product_id FROM parked)
   GROUP BY lp.product_id, lp.warehouse_id
),
stock AS (
  SELECT sp.product_id, sp.warehouse_id, sp.on_hand - sp.reserved - COALESCE(pe.qty, 0) AS free
    FROM inventory_stockposition sp JOIN inventory_warehouse w ON w.id = sp.warehouse_id
    LEFT JOIN pending pe ON pe.product_id = sp.product_id AND pe.warehouse_id = sp.warehouse_id
   WHERE w.active AND w.type IN ('distribution_center', 'store')
     AND sp.product_id IN (SELECT DISTINCT product_id FROM parked)
),
pool AS (
  SELECT product_id, warehouse_id, free,
         sum(free) OVER (PARTITION BY product_id ORDER BY free DESC, warehouse_id) - free AS p_start
    FROM stock WHERE free > 0
),
fit AS (
  SELECT pk.id, po.warehouse_id, COALESCE(src.transit_days, %(transit)s) AS transit
    FROM parked pk
    JOIN pool po ON po.product_id = pk.product_id
     AND pk.q_start >= po.p_start AND pk.q_start + pk.quantity <= po.p_start + po.free
    LEFT JOIN fulfillment_sourcingrulesource src
      ON src.rule_id = pk.rule_id AND src.warehouse_id = po.warehouse_id
   WHERE pk.rule_id IS NULL OR src.id IS NOT NULL
),
upd AS (
  UPDATE fulfillment_linepromise lp
     SET status = 'promised', mode = 'warehouse', warehouse_id = fit.warehouse_id,
         scheduled_ship_date = %(today)s,
         scheduled_arrival_date = %(today)s + fit.transit,
         promised_date = %(today)s + fit.transit,
         trace = lp.trace || jsonb_build_array('re-brokered on ' || CAST(%(today)s AS varchar)
                 || ' after stock arrived: ' || w.code),
         updated_at = %(now)s
    FROM fit JOIN inventory_warehouse w ON w.id = fit.warehouse_id
   WHERE lp.id = fit.id AND lp.status = 'parked'
  RETURNING lp.fulfillment_line_id, lp.warehouse_id, lp.promised_date, w.code
),
fl AS (
  UPDATE fulfillment_fulfillmentline f
     SET promised_date = upd.promised_date, updated_at = %(now)s
    FROM upd WHERE f.id = upd.fulfillment_line_id
  RETURNING f.id
)
SELECT o.id, o.number, c.code, f.id, f.source_line_id, upd.code, upd.promised_date
  FROM upd
  JOIN fulfillment_fulfillmentline f ON f.id = upd.fulfillment_line_id
  JOIN orders_salesorder o ON o.id = f.order_id
  JOIN partners_channel c ON c.id = o.channel_id
 ORDER BY o.id, f.id
"""


@dataclass(frozen=True)
class RebrokerResult:
    lines: int
    orders: int


def parked_rebroker(*, product_ids: Sequence[int] | None = None, today: date | None = None) -> RebrokerResult:
    """Promise the parked lines (of `product_ids`, else all) that supply now covers; publish
    `order.promise_changed` per order. Three statements whatever the number of lines."""
    if connection.vendor != "postgresql":
        return _rebroker_portable(product_ids=product_ids, today=today)
    today = today or timezone.localdate()
    params = {"today": today, "now": timezone.now(), "transit": settings.OMS_PLANNING_TRANSIT_DAYS}
    product_filter = ""
    if product_ids is not None:
        product_filter = "AND lp.product_id = ANY(%(products)s)"
        params["products"] = list(product_ids)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_SQL.format(product_filter=product_filter), params)
            rows = cursor.fetchall()
        return _announce(rows)


def _announce(rows) -> RebrokerResult:
    by_order: dict[int, dict] = {}
    lines: dict[int, list] = defaultdict(list)
    for order_id, number, channel, line_id, source_line_id, warehouse, promised in rows:
        by_order[order_id] = {"order_id": order_id, "number": number, "channel": channel}
        lines[order_id].append(
            {
                "fulfillment_line": line_id,
                "source_line_id": source_line_id,
                "warehouse": warehouse,
                "promised_date": promised.isoformat() if promised else None,
            }
        )
    events.publish_many(
        "order.promise_changed",
        ((by_order[oid] | {"lines": lines[oid]}, ("order", by_order[oid]["number"])) for oid in by_order),
    )
    return RebrokerResult(lines=len(rows), orders=len(by_order))


def _rebroker_portable(*, product_ids, today) -> RebrokerResult:
    """The same queueing in Python, for SQLite (no UPDATE ... FROM with RETURNING in a CTE)."""
    from datetime import timedelta
    from decimal import Decimal

    from inventory.atp import DEMAND_CLASS_RANK
    from inventory.models import StockPosition

    from ..models import FulfillmentLine
    from .models import LinePromise, PromiseStatus, SourcingRuleSource

    today = today or timezone.localdate()
    parked = LinePromise.objects.filter(status=PromiseStatus.PARKED)
    if product_ids is not None:
        parked = parked.filter(product_id__in=product_ids)
    queue = sorted(parked, key=lambda p: (-DEMAND_CLASS_RANK.get(p.demand_class, 0), p.created_at, p.pk))
    pools: dict[int, list] = defaultdict(list)
    for sp in (
        StockPosition.objects.filter(
            product_id__in={p.product_id for p in queue},
            warehouse__active=True,
            warehouse__type__in=["distribution_center", "store"],
        )
        .select_related("warehouse")
        .order_by("pk")
    ):
        if sp.on_hand > sp.reserved:
            pools[sp.product_id].append([sp.on_hand - sp.reserved, sp.warehouse_id, sp.warehouse.code])
    transit = {(s.rule_id, s.warehouse_id): s.transit_days for s in SourcingRuleSource.objects.all()}
    spoken: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for product_id, warehouse_id, qty in LinePromise.objects.filter(
        status=PromiseStatus.PROMISED,
        mode="warehouse",
        fulfillment_line__reservation__isnull=True,
        fulfillment_line__status__in=["awaiting_scheduling", "scheduled", "backordered"],
        product_id__in={p.product_id for p in queue},
    ).values_list("product_id", "warehouse_id", "quantity"):
        spoken[(product_id, warehouse_id)] += qty
    for product_id, pool in pools.items():
        for entry in pool:
            entry[0] -= spoken[(product_id, entry[1])]
        pools[product_id] = [entry for entry in pool if entry[0] > 0]
    cursor: dict[int, Decimal] = defaultdict(Decimal)
    rows = []
    with transaction.atomic():
        for p in queue:
            pool = sorted(pools[p.product_id], key=lambda x: (-x[0], x[1]))
            start, edge = cursor[p.product_id], Decimal(0)
            cursor[p.product_id] += p.quantity
            for free, wid, code in pool:
                if start >= edge and start + p.quantity <= edge + free:
                    days = transit.get((p.rule_id, wid))
                    if p.rule_id is not None and days is None:
                        break
                    days = settings.OMS_PLANNING_TRANSIT_DAYS if days is None else days
                    p.status, p.mode, p.warehouse_id = PromiseStatus.PROMISED, "warehouse", wid
                    p.scheduled_ship_date = today
                    p.scheduled_arrival_date = p.promised_date = today + timedelta(days=days)
                    p.trace = [*p.trace, f"re-brokered on {today} after stock arrived: {code}"]
                    p.save()
                    fl = FulfillmentLine.objects.select_related("order__channel").get(
                        pk=p.fulfillment_line_id
                    )
                    FulfillmentLine.objects.filter(pk=fl.pk).update(promised_date=p.promised_date)
                    rows.append(
                        (fl.order_id, fl.order.number, fl.order.channel.code, fl.pk, fl.source_line_id, code,
                         p.promised_date)
                    )  # fmt: skip
                    break
                edge += free
        return _announce(rows)

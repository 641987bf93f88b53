"""Operational reports: where fulfillment falls behind. Each reads the owning apps' tables
through the report database (the replica when configured) and answers a table plus a summary.

- on_time: shipped fulfillment lines against their promised date (the scheduled ship date that
  sourcing promised, else the line's requested ship date), by warehouse;
- fill_rate: the share of ordered units (canceled lines left out) that the order's first
  shipment carried, by channel;
- backorder_aging: open back-orders by age (today minus the day they were created);
- cycle_times: capture -> first shipment -> first issued invoice, percentiles in hours;
- hold_durations: holds applied in the range by hold code, percentiles of the time to release;
- po_lead_time: purchase-order lines against their expected date (the line's, else the PO's):
  received on time, mean days late, mean absolute error, by supplier.
- jeopardy: the jeopardy alerts raised per day by priority, resolved, and open at each day's end;
- rebates: rebate accruals earned in the range by program against what is on claims and settled.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import quantiles
from typing import Any

from django.db import connections
from django.db.models import Min, Q, Sum
from django.utils import timezone

from billing.models import Invoice
from fulfillment.models import Shipment, ShipmentLine
from inventory.models import Demand, MovementKind, PurchaseOrderLine, StockMovement
from oms.kernel.exceptions import NotFound
from orders.models import OrderHold, OrderLine, SalesOrder
from orders.states import LineStatus
from partners.models import Channel
from rebates.models import Accrual, ClaimLine
from rebates.states import ClaimStatus

from .router import report_db
from .selectors import ReportFilters


@dataclass
class OperationalReport:
    report: str
    title: str
    filters: ReportFilters
    columns: list[str]
    rows: list[list[Any]]
    summary: dict[str, Any]
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "title": self.title,
            "period": {"date_from": self.filters.date_from, "date_to": self.filters.date_to},
            "columns": self.columns,
            "rows": [[None if v is None else str(v) for v in row] for row in self.rows],
            "summary": {k: None if v is None else str(v) for k, v in self.summary.items()},
            "note": self.note,
        }


def _rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _hours(delta: dt.timedelta) -> Decimal:
    return Decimal(delta.total_seconds() / 3600).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _pcts(values: list[Decimal]) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """p50, p90, p95 (inclusive method: the figures stay within the observed values)."""
    if not values:
        return None, None, None
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = quantiles([float(v) for v in values], n=20, method="inclusive")
    q = [Decimal(str(round(c, 1))) for c in cuts]
    return q[9], q[17], q[18]


def _range(f: ReportFilters) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(f.date_from, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def on_time(f: ReportFilters) -> OperationalReport:
    db = report_db()
    start, end = _range(f)
    rows = ShipmentLine.objects.using(db).filter(
        shipment__shipped_at__gte=start, shipment__shipped_at__lt=end, quantity_shipped__gt=0
    )
    if f.channel:
        rows = rows.filter(shipment__order__channel__code=f.channel)
    if f.warehouse:
        rows = rows.filter(shipment__warehouse__code=f.warehouse)
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # shipped, with promise, on time
    for wh, shipped_at, promised, requested in rows.values_list(
        "shipment__warehouse__code",
        "shipment__shipped_at",
        "fulfillment_line__scheduled_ship_date",
        "fulfillment_line__order_line__requested_ship_date",
    ):
        s = stats[wh]
        s[0] += 1
        promise = promised or requested
        if promise is not None:
            s[1] += 1
            s[2] += timezone.localtime(shipped_at).date() <= promise
    table = [[wh, a, b, c, _rate(c, b)] for wh, (a, b, c) in sorted(stats.items())]
    total = [sum(s[i] for s in stats.values()) for i in range(3)]
    return OperationalReport(
        "on_time",
        "On-time shipment rate",
        f,
        ["warehouse", "shipped_lines", "with_promise", "on_time", "on_time_rate"],
        table,
        {
            "shipped_lines": total[0],
            "with_promise": total[1],
            "on_time": total[2],
            "on_time_rate": _rate(total[2], total[1]),
        },
        "A shipment line is on time when it shipped on or before its promised date; lines with no "
        "promised date are counted but not rated.",
    )


_FILL_RATE_SQL = """
WITH ordered AS MATERIALIZED (
    SELECT o.number, c.code AS channel, SUM(l.quantity) AS units
      FROM {order} o
      JOIN {channel} c ON c.id = o.channel_id
      JOIN {line} l ON l.order_id = o.id
     WHERE o.is_current AND o.created_at >= %(start)s AND o.created_at < %(end)s
       AND l.status <> %(canceled)s {channel_where}
     GROUP BY o.number, c.code
),
firsts AS MATERIALIZED (
    SELECT s.order_number, MIN(s.shipped_at) AS shipped_at
      FROM {shipment} s
     WHERE s.shipped_at IS NOT NULL AND s.order_number IN (SELECT number FROM ordered)
     GROUP BY s.order_number
),
carried AS (
    SELECT s.order_number, SUM(sl.quantity_shipped) AS units
      FROM firsts f
      JOIN {shipment} s ON s.order_number = f.order_number AND s.shipped_at = f.shipped_at
      JOIN {shipment_line} sl ON sl.shipment_id = s.id
     GROUP BY s.order_number
)
SELECT o.channel,
       COUNT(f.order_number),
       COALESCE(SUM(o.units) FILTER (WHERE f.order_number IS NOT NULL), 0),
       COALESCE(SUM(LEAST(COALESCE(c.units, 0), o.units)) FILTER (WHERE f.order_number IS NOT NULL), 0),
       COUNT(*) FILTER (WHERE f.order_number IS NULL)
  FROM ordered o
  LEFT JOIN firsts f ON f.order_number = o.number
  LEFT JOIN carried c ON c.order_number = o.number
 GROUP BY o.channel
 ORDER BY o.channel
"""


def _tables(**models) -> dict[str, str]:
    return {name: model._meta.db_table for name, model in models.items()}


def fill_rate(f: ReportFilters) -> OperationalReport:
    """One set-based statement: the orders of the range are never loaded into Python."""
    start, end = _range(f)
    params: dict[str, Any] = {"start": start, "end": end, "canceled": LineStatus.CANCELED.value}
    channel_where = ""
    if f.channel:
        channel_where = "AND c.code = %(channel)s"
        params["channel"] = f.channel
    sql = _FILL_RATE_SQL.format(
        channel_where=channel_where,
        **_tables(
            order=SalesOrder, channel=Channel, line=OrderLine, shipment=Shipment, shipment_line=ShipmentLine
        ),
    )
    with connections[report_db()].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    table = [[ch, n, Decimal(o), Decimal(s), _rate(s, o)] for ch, n, o, s, _ in rows if n]
    n = sum(r[1] for r in table)
    o = sum((r[2] for r in table), Decimal(0))
    s = sum((r[3] for r in table), Decimal(0))
    return OperationalReport(
        "fill_rate",
        "Fill rate (first shipment)",
        f,
        ["channel", "orders_shipped", "ordered_units", "first_shipment_units", "fill_rate"],
        table,
        {
            "orders_shipped": n,
            "ordered_units": o,
            "first_shipment_units": s,
            "fill_rate": _rate(s, o),
            "orders_not_shipped": sum(r[4] for r in rows),
        },
        "Orders captured in the range that have shipped; canceled lines are left out of the ordered units.",
    )


AGE_BUCKETS = ((0, 7), (8, 14), (15, 30), (31, 60), (61, None))


def backorder_aging(f: ReportFilters) -> OperationalReport:
    db = report_db()
    today = timezone.localdate()
    demands = Demand.objects.using(db).filter(status="open")
    if f.warehouse:
        demands = demands.filter(Q(warehouse__code=f.warehouse) | Q(warehouse__isnull=True))
    buckets = [[0, Decimal(0)] for _ in AGE_BUCKETS]
    for created, qty in demands.values_list("created_at", "quantity"):
        age = (today - timezone.localtime(created).date()).days
        for i, (lo, hi) in enumerate(AGE_BUCKETS):
            if age >= lo and (hi is None or age <= hi):
                buckets[i][0] += 1
                buckets[i][1] += qty
                break
    label = [f"{lo}-{hi} days" if hi is not None else f"over {lo - 1} days" for lo, hi in AGE_BUCKETS]
    return OperationalReport(
        "backorder_aging",
        "Back-order aging",
        f,
        ["age", "backorders", "units"],
        [[label[i], n, q] for i, (n, q) in enumerate(buckets)],
        {"open_backorders": sum(b[0] for b in buckets), "as_of": today},
        "Open back-orders today, by days since they were created (the date range does not apply).",
    )


# Each stage's hours are rounded to a tenth first (half up), then p50/p90/p95 interpolate
# linearly between the closest ranks (percentile_cont, the "inclusive" method) and are rounded
# to a tenth again: the figures stay within the observed values.
_CYCLE_SQL = """
WITH captured AS MATERIALIZED (
    SELECT o.number, o.created_at
      FROM {order} o {channel_join}
     WHERE o.revision = 1 AND o.created_at >= %(start)s AND o.created_at < %(end)s {channel_where}
),
shipped AS (
    SELECT s.order_number, MIN(s.shipped_at) AS at
      FROM {shipment} s
     WHERE s.shipped_at IS NOT NULL AND s.order_number IN (SELECT number FROM captured)
     GROUP BY s.order_number
),
invoiced AS (
    SELECT i.order_number, MIN(i.issued_at) AS at
      FROM {invoice} i
     WHERE i.issued_at IS NOT NULL AND i.order_number IN (SELECT number FROM captured)
     GROUP BY i.order_number
),
hours AS (
    SELECT ROUND(EXTRACT(EPOCH FROM s.at - c.created_at) / 3600, 1) AS to_ship,
           ROUND(EXTRACT(EPOCH FROM i.at - s.at) / 3600, 1) AS ship_to_invoice,
           ROUND(EXTRACT(EPOCH FROM i.at - c.created_at) / 3600, 1) AS to_invoice
      FROM captured c
      LEFT JOIN shipped s ON s.order_number = c.number
      LEFT JOIN invoiced i ON i.order_number = c.number
)
SELECT COUNT(*), COUNT(to_ship), COUNT(to_invoice),
       COUNT(to_ship), percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY to_ship),
       COUNT(ship_to_invoice), percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY ship_to_invoice),
       COUNT(to_invoice), percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY to_invoice)
  FROM hours
"""


def _tenth(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def cycle_times(f: ReportFilters) -> OperationalReport:
    """One set-based statement over the orders first captured in the range."""
    start, end = _range(f)
    params: dict[str, Any] = {"start": start, "end": end}
    channel_join = channel_where = ""
    if f.channel:
        channel_join = f"JOIN {Channel._meta.db_table} ch ON ch.id = o.channel_id"
        channel_where = "AND ch.code = %(channel)s"
        params["channel"] = f.channel
    sql = _CYCLE_SQL.format(
        channel_join=channel_join,
        channel_where=channel_where,
        **_tables(order=SalesOrder, shipment=Shipment, invoice=Invoice),
    )
    with connections[report_db()].cursor() as cursor:
        cursor.execute(sql, params)
        captured, shipped, invoiced, *stages = cursor.fetchone()
    table = []
    for i, name in enumerate(("capture_to_ship", "ship_to_invoice", "capture_to_invoice")):
        count, cuts = stages[2 * i], stages[2 * i + 1]
        p50, p90, p95 = (_tenth(c) for c in cuts) if count else (None, None, None)
        table.append([name, count, p50, p90, p95])
    return OperationalReport(
        "cycle_times",
        "Order cycle time (hours)",
        f,
        ["stage", "orders", "p50_hours", "p90_hours", "p95_hours"],
        table,
        {"orders_captured": captured, "shipped": shipped, "invoiced": invoiced},
        "Orders first captured in the range; first shipment and first issued invoice of each.",
    )


def hold_durations(f: ReportFilters) -> OperationalReport:
    db = report_db()
    start, end = _range(f)
    holds = OrderHold.objects.using(db).filter(applied_at__gte=start, applied_at__lt=end)
    if f.channel:
        holds = holds.filter(order__channel__code=f.channel)
    durations: dict[str, list[Decimal]] = defaultdict(list)
    active: dict[str, int] = defaultdict(int)
    for code, applied, released in holds.values_list("hold_code__code", "applied_at", "released_at"):
        if released is None:
            active[code] += 1
        else:
            durations[code].append(_hours(released - applied))
    table = []
    for code in sorted(set(durations) | set(active)):
        values = sorted(durations[code])
        p50, p90, p95 = _pcts(values)
        table.append([code, len(values) + active[code], len(values), active[code], p50, p90, p95])
    return OperationalReport(
        "hold_durations",
        "Hold durations by hold code (hours)",
        f,
        ["hold_code", "applied", "released", "still_active", "p50_hours", "p90_hours", "p95_hours"],
        table,
        {"applied": sum(r[1] for r in table), "still_active": sum(active.values())},
        "Holds applied in the range; the time from applied to released (active holds are counted apart).",
    )


def po_lead_time(f: ReportFilters) -> OperationalReport:
    db = report_db()
    start, end = _range(f)
    lines = PurchaseOrderLine.objects.using(db).filter(
        purchase_order__created_at__gte=start, purchase_order__created_at__lt=end
    )
    if f.warehouse:
        lines = lines.filter(purchase_order__warehouse__code=f.warehouse)
    info = {
        pk: (supplier, expected or po_expected, po_id)
        for pk, supplier, expected, po_expected, po_id in lines.values_list(
            "pk",
            "purchase_order__supplier__code",
            "expected_date",
            "purchase_order__expected_date",
            "purchase_order_id",
        )
    }
    reasons = {f"PO-{po_id:06d} line {pk}": pk for pk, (_, _, po_id) in info.items()}
    received = {
        reasons[reason]: timezone.localtime(first).date()
        for reason, first in StockMovement.objects.using(db)
        .filter(kind=MovementKind.RECEIPT, reason__in=list(reasons))
        .values("reason")
        .annotate(first=Min("created_at"))
        .values_list("reason", "first")
    }
    stats: dict[str, list[Any]] = defaultdict(
        lambda: [0, 0, 0, 0, 0]
    )  # lines, received, on time, late sum, abs
    for pk, (supplier, expected, _) in info.items():
        s = stats[supplier]
        s[0] += 1
        if pk in received and expected is not None:
            days = (received[pk] - expected).days
            s[1] += 1
            s[2] += days <= 0
            s[3] += days
            s[4] += abs(days)
    table = []
    for supplier, (n, got, ok, late, err) in sorted(stats.items()):
        mean = (Decimal(late) / got).quantize(Decimal("0.1")) if got else None
        mae = (Decimal(err) / got).quantize(Decimal("0.1")) if got else None
        table.append([supplier, n, got, ok, _rate(ok, got), mean, mae])
    got = sum(s[1] for s in stats.values())
    return OperationalReport(
        "po_lead_time",
        "Purchase-order lead-time accuracy",
        f,
        [
            "supplier",
            "lines",
            "received_with_expected_date",
            "on_time",
            "on_time_rate",
            "mean_days_late",
            "mean_abs_error_days",
        ],
        table,
        {
            "lines": sum(s[0] for s in stats.values()),
            "received": got,
            "on_time_rate": _rate(sum(s[2] for s in stats.values()), got),
        },
        "Lines of purchase orders created in the range; a line is on time when its first receipt came on or "
        "before its expected date (negative days late are early).",
    )


_JEOPARDY_SQL = """
WITH days AS (
    SELECT CAST(d AS date) AS day
      FROM generate_series(CAST(%(start)s AS date), CAST(%(end)s AS date), interval '1 day') AS d
),
alerts AS (
    SELECT a.priority, CAST(a.raised_at AT TIME ZONE %(tz)s AS date) AS raised_on,
           CAST(a.resolved_at AT TIME ZONE %(tz)s AS date) AS resolved_on
      FROM fulfillment_jeopardyalert a
      {channel_join}
     WHERE a.raised_at < %(until)s AND (a.resolved_at IS NULL OR a.resolved_at >= %(since)s) {channel_where}
)
SELECT d.day,
       COUNT(*) FILTER (WHERE a.raised_on = d.day AND a.priority = 'low'),
       COUNT(*) FILTER (WHERE a.raised_on = d.day AND a.priority = 'medium'),
       COUNT(*) FILTER (WHERE a.raised_on = d.day AND a.priority = 'high'),
       COUNT(*) FILTER (WHERE a.resolved_on = d.day),
       COUNT(*) FILTER (WHERE a.raised_on IS NOT NULL AND (a.resolved_on IS NULL OR a.resolved_on > d.day))
  FROM days d
  LEFT JOIN alerts a ON a.raised_on <= d.day AND (a.resolved_on IS NULL OR a.resolved_on >= d.day)
 GROUP BY d.day
 ORDER BY d.day
"""


def jeopardy_over_time(f: ReportFilters) -> OperationalReport:
    """Per day: the jeopardy alerts raised (by priority), resolved, and still open at the end of
    the day (an alert superseded by a higher one counts as resolved when the scan resolved it)."""
    since, until = _range(f)
    channel_join = channel_where = ""
    params: dict[str, Any] = {
        "start": f.date_from,
        "end": f.date_to,
        "since": since,
        "until": until,
        "tz": timezone.get_current_timezone_name(),
    }
    if f.channel:
        channel_join = "JOIN partners_channel c ON c.id = a.channel_id"
        channel_where = "AND c.code = %(channel)s"
        params["channel"] = f.channel
    with connections[report_db()].cursor() as cursor:
        cursor.execute(_JEOPARDY_SQL.format(channel_join=channel_join, channel_where=channel_where), params)
        table = [list(row) for row in cursor.fetchall()]
    return OperationalReport(
        "jeopardy",
        "Jeopardy alerts over time",
        f,
        ["day", "raised_low", "raised_medium", "raised_high", "resolved", "open_at_end_of_day"],
        table,
        {
            "raised": sum(r[1] + r[2] + r[3] for r in table),
            "resolved": sum(r[4] for r in table),
            "open_at_end": table[-1][5] if table else 0,
        },
        "Alerts the jeopardy scan raised, by day (in TIME_ZONE) and priority; resolved ones by the day "
        "they were resolved; open at the end of the day: raised by then and not yet resolved.",
    )


def rebates_earned_vs_claimed(f: ReportFilters) -> OperationalReport:
    """By rebate program (code and currency): the accruals earned in the range (by the source
    event's date; reversals and re-rating adjustments count with their sign), how much of that
    is on live claims (not canceled), settled, and still unclaimed."""
    db = report_db()
    accruals = Accrual.objects.using(db).filter(source_date__gte=f.date_from, source_date__lte=f.date_to)
    if f.warehouse:
        accruals = accruals.filter(warehouse__code=f.warehouse)
    earned = {
        (code, cur): amount
        for code, cur, amount in accruals.values("program__code", "currency")
        .annotate(total=Sum("amount"))
        .values_list("program__code", "currency", "total")
    }
    live = (
        ClaimLine.objects.using(db).filter(accrual__in=accruals).exclude(claim__status=ClaimStatus.CANCELED)
    )
    claimed = {
        (code, cur): (amount, settled)
        for code, cur, amount, settled in live.values("accrual__program__code", "accrual__currency")
        .annotate(
            total=Sum("amount"),
            settled=Sum("amount", filter=Q(claim__status=ClaimStatus.SETTLED)),
        )
        .values_list("accrual__program__code", "accrual__currency", "total", "settled")
    }
    table = []
    for key in sorted(set(earned) | set(claimed)):
        got = earned.get(key) or Decimal(0)
        on_claims, settled = claimed.get(key, (Decimal(0), None))
        on_claims, settled = on_claims or Decimal(0), settled or Decimal(0)
        table.append([key[0], key[1], got, on_claims, settled, got - on_claims, _rate(on_claims, got)])
    return OperationalReport(
        "rebates",
        "Rebates earned vs claimed",
        f,
        ["program", "currency", "earned", "claimed", "settled", "unclaimed", "claimed_rate"],
        table,
        {"programs": len({r[0] for r in table}), "currencies": len({r[1] for r in table})},
        "Accruals by the date of the event that earned them, in the program currency (reversals and "
        "adjustments with their sign); claimed = on claims not canceled, settled = on settled claims.",
    )


REPORTS = {
    "on_time": on_time,
    "fill_rate": fill_rate,
    "backorder_aging": backorder_aging,
    "cycle_times": cycle_times,
    "hold_durations": hold_durations,
    "po_lead_time": po_lead_time,
    "jeopardy": jeopardy_over_time,
    "rebates": rebates_earned_vs_claimed,
}
TITLES = {
    "on_time": "On-time shipment rate",
    "fill_rate": "Fill rate (first shipment)",
    "backorder_aging": "Back-order aging",
    "cycle_times": "Order cycle time",
    "hold_durations": "Hold durations",
    "po_lead_time": "PO lead-time accuracy",
    "jeopardy": "Jeopardy over time",
    "rebates": "Rebates earned vs claimed",
}


def run(report: str, *, filters: ReportFilters) -> OperationalReport:
    if report not in REPORTS:
        raise NotFound(f"No report '{report}'. One of {sorted(REPORTS)}.")
    return REPORTS[report](filters)

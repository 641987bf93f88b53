"""Rankings over the sales facts: top or bottom N of a metric by a dimension, with the share of
the period's total, and the rank and % change against the previous period of the same length.

Figures (docs/reporting.md):
- revenue: line net amounts (after discounts, before tax and shipping), converted into the report
  currency at pricing's dated rate of the order's day, summed, then rounded once per row;
- units: ordered quantities; orders: distinct orders; aov: revenue / orders; margin: revenue minus
  standard cost over the lines whose cost is known (rows without any are left out);
- canceled lines and canceled orders are excluded from every figure and counted as excluded;
  the OMS has no returns yet, so nothing is subtracted for them.
Reads go through `report_db()` (the replica when one is configured). In the report currency and
without channel, warehouse, status or customer-group filters a ranking reads the rollups (whole
quarters and months pre-summed, the days at the ends from the facts); otherwise the facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Count, Q, QuerySet, Sum

from catalog.models import Brand, Category, Product
from customers.models import Customer
from inventory.models import Warehouse
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import round_money
from partners.models import Channel
from pricing.models import ExchangeRate

from .models import SalesFact
from .rollups import DIM_CODES, TEXT_KEYED
from .router import report_db

DIMENSIONS = {
    # name: (SQL expression over the facts `f`, label kind)
    "product": ("f.product_id", "product"),
    "customer": ("f.customer_id", "customer"),
    "order": ("f.order_number", "text"),
    "country": ("f.country", "text"),
    "region": ("f.country || '-' || f.region", "text"),
    "brand": ("f.brand_id", "brand"),
    "category": ("f.category_id", "category"),
    "seller": ("COALESCE(f.seller_id, 0)", "seller"),
    "channel": ("f.channel_id", "channel"),
    "page": ("f.source_page", "text"),
    "campaign": ("f.campaign", "text"),
    "day": ("f.day", "date"),
    "week": ("CAST(date_trunc('week', f.day) AS date)", "date"),
    "month": ("CAST(date_trunc('month', f.day) AS date)", "date"),
    "quarter": ("CAST(date_trunc('quarter', f.day) AS date)", "date"),
}
DATE_DIMENSIONS = frozenset({"day", "week", "month", "quarter"})
METRICS = ("revenue", "units", "orders", "aov", "margin")
MONEY_METRICS = frozenset({"revenue", "aov", "margin"})
ADDITIVE = frozenset({"revenue", "units", "margin", "orders"})
MAX_LIMIT = 100
EXCLUSION_NOTE = (
    "Canceled lines and canceled orders are excluded from every figure. The OMS records no "
    "returns yet, so no returned quantity is subtracted."
)


@dataclass(frozen=True)
class ReportFilters:
    date_from: date
    date_to: date
    currency: str
    channel: str = ""  # channel code
    warehouse: str = ""  # warehouse code
    status: tuple[str, ...] = ()  # order statuses
    customer_group: str = ""  # demand class

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        return self.date_from - timedelta(days=self.days), self.date_from - timedelta(days=1)


@dataclass
class RankingRow:
    rank: int
    key: str
    label: str
    value: Decimal | None
    revenue: Decimal
    units: Decimal
    orders: int
    aov: Decimal | None
    margin: Decimal | None
    share: Decimal | None
    previous_rank: int | None
    rank_change: int | None
    previous_value: Decimal | None
    change_pct: Decimal | None


@dataclass
class Ranking:
    dimension: str
    metric: str
    direction: str
    filters: ReportFilters
    count: int
    rows: list[RankingRow]
    totals: dict[str, Any]
    previous_totals: dict[str, Any]
    excluded: dict[str, Any]
    note: str = EXCLUSION_NOTE


def _q(value: Decimal | None, places: str = "0.0001") -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


# --- FX -----------------------------------------------------------------------------------------
def _rate_periods(
    currencies: Iterable[str], to: str, start: date, end: date
) -> list[tuple[str, date, date, Decimal]]:
    """(currency, from, until (exclusive), rate into `to`) covering [start, end] for each
    currency, as `pricing.selectors.exchange_rate_on` would answer day by day: the stored pair's
    latest rate on or before the day, else the reciprocal of the reverse pair's. A currency with no
    rate for some day of the range is refused, naming the `currency` field."""
    periods: list[tuple[str, date, date, Decimal]] = []
    stop = end + timedelta(days=1)
    for cur in sorted(set(currencies)):
        if cur == to:
            periods.append((cur, start, stop, Decimal(1)))
            continue
        direct = list(
            ExchangeRate.objects.filter(base=cur, quote=to, valid_on__lte=end)
            .order_by("valid_on")
            .values_list("valid_on", "rate")
        )
        reverse = list(
            ExchangeRate.objects.filter(base=to, quote=cur, valid_on__lte=end)
            .order_by("valid_on")
            .values_list("valid_on", "rate")
        )

        def rate_on(day: date, direct=direct, reverse=reverse) -> Decimal | None:
            d = [r for v, r in direct if v <= day]
            if d:
                return d[-1]
            r = [r for v, r in reverse if v <= day]
            return Decimal(1) / r[-1] if r else None

        # The rate can only change on a day some row starts: walk those days, not every day.
        changes = sorted({start} | {v for v, _ in direct + reverse if start < v <= end})
        for i, day in enumerate(changes):
            rate = rate_on(day)
            if rate is None:
                raise ValidationFailed(
                    "No exchange rate for the report currency over the whole range.",
                    fields={"currency": [f"No {cur} to {to} rate on or before {day}."]},
                )
            until = changes[i + 1] if i + 1 < len(changes) else stop
            periods.append((cur, day, until, rate))
    return periods


def _where(filters: ReportFilters, start: date, end: date) -> tuple[str, list[Any]]:
    sql = ["f.day >= %s", "f.day <= %s"]
    params: list[Any] = [start, end]
    if filters.channel:
        sql.append("f.channel_id = %s")
        params.append(Channel.objects.filter(code=filters.channel).values_list("pk", flat=True).first() or -1)
    if filters.warehouse:
        sql.append("f.warehouse_id = %s")
        params.append(
            Warehouse.objects.filter(code=filters.warehouse).values_list("pk", flat=True).first() or -1
        )
    if filters.status:
        sql.append("f.status IN (" + ", ".join(["%s"] * len(filters.status)) + ")")
        params.extend(filters.status)
    if filters.customer_group:
        sql.append("f.customer_group = %s")
        params.append(filters.customer_group)
    return " AND ".join(sql), params


def _fx_cte(
    filters: ReportFilters, where: str, params: list[Any], start: date, end: date
) -> tuple[str, list[Any]]:
    with connections[report_db()].cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT f.currency FROM reporting_salesfact f WHERE {where}", params)  # noqa: S608
        currencies = [row[0] for row in cursor.fetchall()] or [filters.currency]
    periods = _rate_periods(currencies, filters.currency, start, end)
    values = ", ".join(["(%s, %s::date, %s::date, %s::numeric)"] * len(periods))
    # One row per currency and day, so that the facts join it on equality (a hash join) rather
    # than testing every fact against every rate period.
    cte = (
        f"periods(cur, d_from, d_until, rate) AS (VALUES {values}), "  # noqa: S608 (placeholders only)
        "fx(cur, day, rate) AS MATERIALIZED (SELECT p.cur, CAST(d AS date), p.rate FROM periods p "
        "CROSS JOIN LATERAL generate_series(p.d_from, p.d_until - 1, interval '1 day') AS d)"
    )
    return cte, [x for p in periods for x in p]


# --- rankings -------------------------------------------------------------------------------
_METRIC_SQL = {
    "revenue": "revenue",
    "units": "units",
    "orders": "orders",
    "aov": "revenue / NULLIF(orders, 0)",
    "margin": "margin",
}


@dataclass(frozen=True)
class _Query:
    sql: str  # the ranked rows, without LIMIT
    params: list[Any]
    totals_sql: str
    totals_params: list[Any]


def _build(filters: ReportFilters, dimension: str, metric: str, direction: str, order_by_key: bool) -> _Query:
    if dimension not in DIMENSIONS:
        raise ValidationFailed("Unknown dimension.", fields={"dimension": [f"One of {sorted(DIMENSIONS)}."]})
    if metric not in METRICS:
        raise ValidationFailed("Unknown metric.", fields={"metric": [f"One of {list(METRICS)}."]})
    if reads_rollups(filters):
        return _build_rollups(filters, dimension, metric, direction, order_by_key)
    prev_from, _ = filters.previous
    where, params = _where(filters, prev_from, filters.date_to)
    fx, fx_params = _fx_cte(filters, where, params, prev_from, filters.date_to)
    key_sql = DIMENSIONS[dimension][0]
    value = _METRIC_SQL[metric]
    order = "c.k" if order_by_key else ("c.rnk DESC" if direction == "bottom" else "c.rnk")
    sql = f"""
    WITH {fx},
    base AS (
        SELECT {key_sql} AS k, CASE WHEN f.day >= %s THEN 1 ELSE 0 END AS cur, f.order_number,
               f.quantity, f.revenue * fx.rate AS rev, f.cost * fx.rate AS cost, f.canceled,
               CASE WHEN f.cost IS NOT NULL THEN f.revenue * fx.rate END AS costed
          FROM reporting_salesfact f
          JOIN fx ON fx.cur = f.currency AND fx.day = f.day
         WHERE {where}
    ),
    agg AS (
        SELECT k, cur, SUM(rev) AS revenue, SUM(quantity) AS units, COUNT(DISTINCT order_number) AS orders,
               SUM(costed) - SUM(cost) AS margin
          FROM base WHERE NOT canceled GROUP BY k, cur
    ),
    ranked AS (
        SELECT k, cur, revenue, units, orders, margin, {value} AS v,
               ROW_NUMBER() OVER (PARTITION BY cur ORDER BY {value} DESC, k) AS rnk,
               COUNT(*) OVER (PARTITION BY cur) AS n
          FROM agg WHERE {value} IS NOT NULL
    )
    SELECT c.k, c.rnk, c.n, c.v, c.revenue, c.units, c.orders, c.margin, c.prnk, c.pv
      FROM (SELECT k, MAX(rnk) FILTER (WHERE cur = 1) AS rnk, MAX(n) FILTER (WHERE cur = 1) AS n,
                   MAX(v) FILTER (WHERE cur = 1) AS v, MAX(revenue) FILTER (WHERE cur = 1) AS revenue,
                   MAX(units) FILTER (WHERE cur = 1) AS units, MAX(orders) FILTER (WHERE cur = 1) AS orders,
                   MAX(margin) FILTER (WHERE cur = 1) AS margin,
                   MAX(rnk) FILTER (WHERE cur = 0) AS prnk, MAX(v) FILTER (WHERE cur = 0) AS pv
              FROM ranked GROUP BY k HAVING COUNT(*) FILTER (WHERE cur = 1) > 0) c
     ORDER BY {order}
    """  # noqa: S608
    totals_sql = f"""
    WITH {fx},
    base AS (
        SELECT CASE WHEN f.day >= %s THEN 1 ELSE 0 END AS cur, f.order_number, f.quantity, f.canceled,
               f.revenue * fx.rate AS rev, f.cost * fx.rate AS cost,
               CASE WHEN f.cost IS NOT NULL THEN f.revenue * fx.rate END AS costed
          FROM reporting_salesfact f
          JOIN fx ON fx.cur = f.currency AND fx.day = f.day
         WHERE {where}
    )
    SELECT cur,
           SUM(rev) FILTER (WHERE NOT canceled), SUM(quantity) FILTER (WHERE NOT canceled),
           COUNT(DISTINCT order_number) FILTER (WHERE NOT canceled),
           SUM(costed) FILTER (WHERE NOT canceled) - SUM(cost) FILTER (WHERE NOT canceled),
           COUNT(*) FILTER (WHERE canceled), SUM(quantity) FILTER (WHERE canceled),
           SUM(rev) FILTER (WHERE canceled)
      FROM base GROUP BY cur
    """  # noqa: S608
    common = [*fx_params, filters.date_from, *params]
    return _Query(sql, common, totals_sql, common)


# --- the rollup path -------------------------------------------------------------------------
def reads_rollups(filters: ReportFilters) -> bool:
    """The rollups hold every figure converted into OMS_REPORT_CURRENCY and summed over all
    channels, warehouses, statuses and customer groups: a ranking in that currency without those
    filters reads them; any other reads the facts (the same figures, slower at scale)."""
    return (
        getattr(settings, "OMS_REPORTS_ROLLUPS", True)
        and filters.currency == settings.OMS_REPORT_CURRENCY
        and not (filters.channel or filters.warehouse or filters.status or filters.customer_group)
    )


def _add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


def _whole(a: date, b: date, months: int) -> tuple[date, date] | None:
    """The first and last starts of the whole months (1) or quarters (3) inside [a, b]."""
    start = date(a.year, (a.month - 1) // months * months + 1, 1)
    if start < a:
        start = _add_months(start, months)
    last, nxt = None, start
    while _add_months(nxt, months) - timedelta(days=1) <= b:
        last, nxt = nxt, _add_months(nxt, months)
    return (start, last) if last is not None else None


def cover(a: date, b: date, months: int = 3) -> list[tuple[str, date, date]]:
    """[a, b] as pieces the rollups answer: ("q", first, last quarter start) for the whole
    quarters, ("m", ...) for the whole months beside them, ("d", first, last day) for the rest."""
    if a > b:
        return []
    whole = _whole(a, b, months)
    if whole is None:
        return cover(a, b, 1) if months == 3 else [("d", a, b)]
    first, last = whole
    end = _add_months(last, months) - timedelta(days=1)
    inner = cover if months == 3 else (lambda x, y, m=1: [("d", x, y)] if x <= y else [])
    return [
        ("q" if months == 3 else "m", first, last),
        *inner(a, first - timedelta(days=1), 1),
        *inner(end + timedelta(days=1), b, 1),
    ]


_RANKED = """
ranked AS (
    SELECT k, cur, revenue, units, orders, margin, {value} AS v,
           ROW_NUMBER() OVER (PARTITION BY cur ORDER BY {value} DESC, k) AS rnk,
           COUNT(*) OVER (PARTITION BY cur) AS n
      FROM agg WHERE {value} IS NOT NULL
)
SELECT c.k, c.rnk, c.n, c.v, c.revenue, c.units, c.orders, c.margin, c.prnk, c.pv
  FROM (SELECT k, MAX(rnk) FILTER (WHERE cur = 1) AS rnk, MAX(n) FILTER (WHERE cur = 1) AS n,
               MAX(v) FILTER (WHERE cur = 1) AS v, MAX(revenue) FILTER (WHERE cur = 1) AS revenue,
               MAX(units) FILTER (WHERE cur = 1) AS units, MAX(orders) FILTER (WHERE cur = 1) AS orders,
               MAX(margin) FILTER (WHERE cur = 1) AS margin,
               MAX(rnk) FILTER (WHERE cur = 0) AS prnk, MAX(v) FILTER (WHERE cur = 0) AS pv
          FROM ranked GROUP BY k HAVING COUNT(*) FILTER (WHERE cur = 1) > 0) c
 ORDER BY {order}
"""
_MARGIN = "CASE WHEN SUM({t}costed_lines) > 0 THEN SUM({t}costed_revenue) - SUM({t}cost) END"
_ROLLUP_TOTALS = f"""
SELECT cur, SUM(revenue), SUM(units), CAST(SUM(orders) AS bigint), {_MARGIN.format(t="")},
       SUM(canceled_lines), SUM(canceled_units), SUM(canceled_revenue), SUM(unrated)
  FROM (SELECT CASE WHEN t.day >= %s THEN 1 ELSE 0 END AS cur, t.*
          FROM reporting_salesdaytotal t WHERE t.day BETWEEN %s AND %s) t
 GROUP BY cur
"""  # noqa: S608 (fixed fragments)
_ORDER_VALUE = {
    "revenue": "f.revenue",
    "aov": "f.revenue",
    "units": "f.units",
    "orders": "CAST(1 AS bigint)",  # an expression: a bare 1 in ORDER BY names the first column
    "margin": "CASE WHEN f.costed_lines > 0 THEN f.costed_revenue - f.cost END",
}


def _refuse_unrated(filters: ReportFilters, start: date, end: date) -> None:
    with connections[report_db()].cursor() as cursor:
        cursor.execute(
            "SELECT x.currency, x.day FROM reporting_salesfxday x"
            " JOIN reporting_salesdaytotal t ON t.day = x.day WHERE t.unrated > 0 AND x.rate IS NULL"
            " AND x.day BETWEEN %s AND %s ORDER BY x.day LIMIT 1",
            [start, end],
        )
        row = cursor.fetchone()
    if row is not None:
        raise ValidationFailed(
            "No exchange rate for the report currency over the whole range.",
            fields={"currency": [f"No {row[0]} to {filters.currency} rate on or before {row[1]}."]},
        )


def _build_rollups(
    filters: ReportFilters, dimension: str, metric: str, direction: str, order_by_key: bool
) -> _Query:
    prev_from, prev_to = filters.previous
    _refuse_unrated(filters, prev_from, filters.date_to)
    totals_params = [filters.date_from, prev_from, filters.date_to]
    value = _METRIC_SQL[metric]
    order = "c.k" if order_by_key else ("c.rnk DESC" if direction == "bottom" else "c.rnk")
    if dimension == "order":
        return _build_orders(filters, metric, direction, order_by_key, totals_params)
    if dimension in DATE_DIMENSIONS:
        sql = f"""
        WITH agg AS (
            SELECT {DIMENSIONS[dimension][0]} AS k, CASE WHEN f.day >= %s THEN 1 ELSE 0 END AS cur,
                   SUM(f.revenue) AS revenue, SUM(f.units) AS units, CAST(SUM(f.orders) AS bigint) AS orders,
                   {_MARGIN.format(t="f.")} AS margin
              FROM reporting_salesdaytotal f WHERE f.day BETWEEN %s AND %s
             GROUP BY 1, 2 HAVING SUM(f.lines) > 0
        ),
        {_RANKED.format(value=value, order=order)}"""  # noqa: S608 (fixed fragments)
        params: list[Any] = [filters.date_from, prev_from, filters.date_to]
        return _Query(sql, params, _ROLLUP_TOTALS, totals_params)
    code = DIM_CODES[dimension][0]
    pieces = cover(prev_from, prev_to) + cover(filters.date_from, filters.date_to)
    spans = [p for p in pieces if p[0] != "d"]
    days = [p for p in pieces if p[0] == "d"]
    span_sql = " OR ".join(["(r.span = %s AND r.period BETWEEN %s AND %s)"] * len(spans)) or "FALSE"
    day_sql = " OR ".join(["f.day BETWEEN %s AND %s"] * len(days)) or "FALSE"
    key_col = "r.key_text" if dimension in TEXT_KEYED else "r.key_id"
    sql = f"""
    WITH u AS (
        SELECT {key_col} AS k, CASE WHEN r.period >= %s THEN 1 ELSE 0 END AS cur, r.lines, r.orders, r.units,
               r.revenue, r.cost, r.costed_revenue, r.costed_lines
          FROM reporting_salesrollup r WHERE r.dim = %s AND ({span_sql})
        UNION ALL
        SELECT k, cur, COUNT(*), COUNT(DISTINCT order_number), SUM(quantity), SUM(rrev),
               COALESCE(SUM(rcost), 0), COALESCE(SUM(rrev) FILTER (WHERE costed), 0),
               COUNT(*) FILTER (WHERE costed)
          FROM (SELECT {DIMENSIONS[dimension][0]} AS k, CASE WHEN f.day >= %s THEN 1 ELSE 0 END AS cur,
                       f.order_number, f.quantity, f.revenue * f.rate AS rrev, f.cost * f.rate AS rcost,
                       f.cost IS NOT NULL AS costed
                  FROM reporting_salesfact f WHERE NOT f.canceled AND ({day_sql})) e
         GROUP BY k, cur
    ),
    agg AS (
        SELECT k, cur, SUM(revenue) AS revenue, SUM(units) AS units, CAST(SUM(orders) AS bigint) AS orders,
               {_MARGIN.format(t="")} AS margin
          FROM u GROUP BY k, cur HAVING SUM(lines) > 0
    ),
    {_RANKED.format(value=value, order=order)}"""  # noqa: S608 (fixed fragments)
    params = [filters.date_from, code]
    params += [x for span, first, last in spans for x in (span, first, last)]
    params.append(filters.date_from)
    params += [x for _, first, last in days for x in (first, last)]
    return _Query(sql, params, _ROLLUP_TOTALS, totals_params)


def _build_orders(
    filters: ReportFilters, metric: str, direction: str, order_by_key: bool, totals_params: list[Any]
) -> _Query:
    """The largest orders: an order has one day, so it has no previous rank; the order totals'
    revenue index gives the first page without sorting the period."""
    v = _ORDER_VALUE[metric]
    counted = "costed_orders" if metric == "margin" else "orders"
    with connections[report_db()].cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM({counted}), 0) FROM reporting_salesdaytotal WHERE day BETWEEN %s AND %s",  # noqa: S608
            [filters.date_from, filters.date_to],
        )
        n = int(cursor.fetchone()[0])
    if direction == "bottom" and not order_by_key:
        rank = f"%s + 1 - ROW_NUMBER() OVER (ORDER BY {v}, f.order_number DESC)"
        order = f"{v}, f.order_number DESC"
        params: list[Any] = [n]
    else:
        rank = f"ROW_NUMBER() OVER (ORDER BY {v} DESC, f.order_number)"
        order = "f.order_number" if order_by_key else f"{v} DESC, f.order_number"
        params = []
    # No subquery: the page's LIMIT then reaches the plan, which walks the revenue index.
    sql = f"""
    SELECT f.order_number, {rank}, %s, {v}, f.revenue, f.units, 1, {_ORDER_VALUE["margin"]},
           CAST(NULL AS bigint), CAST(NULL AS numeric)
      FROM reporting_salesordertotal f
     WHERE f.day BETWEEN %s AND %s AND {v} IS NOT NULL
     ORDER BY {order}
    """  # noqa: S608 (fixed fragments)
    return _Query(sql, [*params, n, filters.date_from, filters.date_to], _ROLLUP_TOTALS, totals_params)


def _tune(cursor) -> None:
    """For the report's transaction: no JIT compilation (it costs more than these queries save)
    and room to hash the groups in memory."""
    if cursor.db.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")


def _sums(q: _Query) -> dict[int, tuple]:
    with connections[report_db()].cursor() as cursor:
        cursor.execute(q.totals_sql, q.totals_params)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _row(
    raw: tuple, metric: str, currency: str, totals: dict[str, Any], labels: dict[Any, str]
) -> RankingRow:
    k, rnk, _n, v, revenue, units, orders, margin, prev_rnk, prev_v = raw
    total = totals["_raw"].get(metric) if metric in ADDITIVE else None
    return RankingRow(
        rank=rnk,
        key=_key_text(k),
        label=labels.get(k, _key_text(k)),
        value=_shown(metric, v, currency),
        revenue=round_money(revenue, currency),
        units=_q(units),
        orders=orders,
        aov=round_money(revenue / orders, currency) if orders else None,
        margin=round_money(margin, currency) if margin is not None else None,
        share=_q(Decimal(v) / Decimal(total)) if total else None,
        previous_rank=prev_rnk,
        rank_change=(prev_rnk - rnk) if prev_rnk is not None else None,
        previous_value=_shown(metric, prev_v, currency),
        change_pct=_q((Decimal(v) - Decimal(prev_v)) * 100 / Decimal(prev_v), "0.1")
        if prev_v not in (None, 0)
        else None,
    )


def ranking(
    *,
    filters: ReportFilters,
    dimension: str,
    metric: str,
    direction: str = "top",
    limit: int = 10,
    offset: int = 0,
    order_by_key: bool = False,
) -> Ranking:
    q = _build(filters, dimension, metric, direction, order_by_key)
    with transaction.atomic(using=report_db()), connections[report_db()].cursor() as cursor:
        _tune(cursor)
        cursor.execute(q.sql + " LIMIT %s OFFSET %s", [*q.params, limit, offset])
        raw = cursor.fetchall()
        if not raw and offset:
            cursor.execute(q.sql + " LIMIT 1", q.params)
            first = cursor.fetchone()
        else:
            first = raw[0] if raw else None
    sums = _sums(q)
    currency = filters.currency
    totals = _totals(sums.get(1), currency)
    current = sums.get(1) or (0,) * 8
    excluded = {
        "canceled_lines": current[4] or 0,
        "canceled_units": _q(current[5] or Decimal(0)),
        "canceled_revenue": round_money(current[6] or Decimal(0), currency),
        "returned_units": _q(Decimal(0)),
    }
    labels = _labels(dimension, [r[0] for r in raw])
    return Ranking(
        dimension=dimension,
        metric=metric,
        direction=direction,
        filters=filters,
        count=first[2] if first else 0,
        rows=[_row(r, metric, currency, totals, labels) for r in raw],
        totals=totals,
        previous_totals=_totals(sums.get(0), currency),
        excluded=excluded,
    )


def ranking_iter(
    *, filters: ReportFilters, dimension: str, metric: str, direction: str = "top", order_by_key: bool = False
) -> Iterator[RankingRow]:
    """Every row of a ranking, read through a server-side cursor a chunk at a time (the exports:
    memory stays flat however many rows there are)."""
    q = _build(filters, dimension, metric, direction, order_by_key)
    totals = _totals(_sums(q).get(1), filters.currency)
    connection = connections[report_db()]
    with transaction.atomic(using=connection.alias):  # a named cursor lives in a transaction
        with connection.cursor() as plain:
            _tune(plain)
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(q.sql, q.params)
            while chunk := cursor.fetchmany(CHUNK):
                labels = _labels(dimension, [r[0] for r in chunk])
                for raw in chunk:
                    yield _row(raw, metric, filters.currency, totals, labels)
        finally:
            cursor.close()


CHUNK = 2000


def _shown(metric: str, v: Any, currency: str) -> Decimal | None:
    if v is None:
        return None
    if metric in MONEY_METRICS:
        return round_money(v, currency)
    if metric == "units":
        return _q(v)
    return Decimal(v)


def _totals(row: tuple | None, currency: str) -> dict[str, Any]:
    if not row or not row[2]:
        return {"revenue": round_money(0, currency), "units": _q(Decimal(0)), "orders": 0, "aov": None,
                "margin": None, "_raw": {}}  # fmt: skip
    revenue, units, orders, margin = row[0] or Decimal(0), row[1] or Decimal(0), row[2] or 0, row[3]
    return {
        "revenue": round_money(revenue, currency),
        "units": _q(units),
        "orders": orders,
        "aov": round_money(revenue / orders, currency) if orders else None,
        "margin": round_money(margin, currency) if margin is not None else None,
        "_raw": {"revenue": revenue, "units": units, "orders": orders, "margin": margin},
    }


def _key_text(k: Any) -> str:
    return k.isoformat() if isinstance(k, date) else str(k)


def _labels(dimension: str, keys: list[Any]) -> dict[Any, str]:
    kind = DIMENSIONS[dimension][1]
    if not keys:
        return {}
    if kind == "product":
        return {
            pk: f"{sku} {name}"
            for pk, sku, name in Product.objects.filter(pk__in=keys).values_list("pk", "sku", "name")
        }
    if kind == "customer":
        return dict(Customer.objects.filter(pk__in=keys).values_list("pk", "name"))
    if kind == "brand":
        return dict(Brand.objects.filter(pk__in=keys).values_list("pk", "name"))
    if kind == "category":
        return dict(Category.objects.filter(pk__in=keys).values_list("pk", "name"))
    if kind == "channel":
        return dict(Channel.objects.filter(pk__in=keys).values_list("pk", "code"))
    if kind == "seller":
        users = dict(get_user_model().objects.filter(pk__in=keys).values_list("pk", "username"))
        return {k: users.get(k, "(no sales rep)") for k in keys}
    if dimension == "page":
        return {k: k or "(no landing page)" for k in keys}
    if dimension == "campaign":
        return {k: k or "(no campaign)" for k in keys}
    if dimension in ("country", "region"):
        return {k: k.strip("-") or "(unknown)" for k in keys}
    return {}


# --- drill-down -----------------------------------------------------------------------------
_ID_DIMENSIONS = {
    "product": "product_id",
    "customer": "customer_id",
    "brand": "brand_id",
    "category": "category_id",
    "channel": "channel_id",
}
_TEXT_DIMENSIONS = {
    "order": "order_number",
    "country": "country",
    "page": "source_page",
    "campaign": "campaign",
}


def _key_q(dimension: str, key: str) -> Q:
    bad = ValidationFailed("Not a key of this dimension.", fields={"key": [f"Not a {dimension} key."]})
    if dimension in _ID_DIMENSIONS or dimension == "seller":
        try:
            pk = int(key)
        except ValueError:
            raise bad from None
        if dimension == "seller":
            return Q(seller_id__isnull=True) if pk == 0 else Q(seller_id=pk)
        return Q(**{_ID_DIMENSIONS[dimension]: pk})
    if dimension in _TEXT_DIMENSIONS:
        return Q(**{_TEXT_DIMENSIONS[dimension]: key})
    if dimension == "region":
        country, _, region = key.partition("-")
        return Q(country=country, region=region)
    try:
        start = date.fromisoformat(key)
    except ValueError:
        raise bad from None
    if dimension == "day":
        return Q(day=start)
    if dimension == "week":
        return Q(day__gte=start, day__lt=start + timedelta(days=7))
    months = 1 if dimension == "month" else 3
    month = start.month - 1 + months
    end = date(start.year + month // 12, month % 12 + 1, 1)
    return Q(day__gte=start, day__lt=end)


def ranking_orders(*, facts: QuerySet[SalesFact], dimension: str, key: str) -> QuerySet:
    """The orders behind a ranking row: `facts` already narrowed by the report's filters
    (SalesFactFilter), then by the row's key; canceled lines are left out as in the ranking.
    One row per order, largest first, amounts in the order's currency."""
    if dimension not in DIMENSIONS:
        raise ValidationFailed("Unknown dimension.", fields={"dimension": [f"One of {sorted(DIMENSIONS)}."]})
    return (
        facts.filter(_key_q(dimension, key), canceled=False)
        .values("order_number", "currency", "day", "status")
        .annotate(revenue=Sum("revenue"), units=Sum("quantity"), lines=Count("id"))
        .order_by("-revenue", "order_number")
    )

"""Keeping the sales facts and their rollups current, with set-based SQL.

Every write that changes a figure (capture, revision, approval, cancel, a line's cancel or
shipment, a status change) publishes an order event; the `reporting.rollups` subscriber refreshes
that order's facts. A periodic catch-up refreshes the orders whose audit trail grew since it last
looked (an event that never arrived, a write that publishes none) and those of the days whose
exchange rate changed, and `reports_rebuild` rebuilds everything. One refresh replaces an order's
facts from its current revision and moves the rollups (monthly and quarterly per dimension, per
day, per order) by the difference, so it can run any number of times, in any order, and always
converges on the base tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from orders.models import OrderEvent
from orders.states import LineStatus, OrderStatus

from .models import RollupCursor

BATCH = 10_000  # orders per refresh (one set of statements each)
CATCH_UP = "order-events"
_ADVISORY_CLASS = 20_020  # pg_advisory_xact_lock(class, key): only the refreshers take these


def facts_kept() -> bool:
    """The facts and rollups are kept by PostgreSQL statements (arrays, FILTER, ON CONFLICT);
    on SQLite, the zero-setup first run, they are not kept and the reports say they need
    PostgreSQL (orders, fulfillment and everything else work the same)."""
    return connection.vendor == "postgresql"


def _lock() -> None:
    """Serialize the refreshes (an event handler, the catch-up, a rebuild): they move shared
    rollup rows by deltas, so two at once would wait on each other's rows in a cycle. A
    transaction-scoped advisory lock that no other writer takes: no order, line or reference
    row is locked, and a refresh holds it for a fraction of a second."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_ADVISORY_CLASS])


# The ranking dimensions summed in SalesRollup: code, (key_id, key_text) over the facts `f`.
DIM_CODES = {
    "product": (1, "f.product_id", "''"),
    "customer": (2, "f.customer_id", "''"),
    "country": (3, "0", "f.country"),
    "region": (4, "0", "f.country || '-' || f.region"),
    "brand": (5, "f.brand_id", "''"),
    "category": (6, "f.category_id", "''"),
    "seller": (7, "COALESCE(f.seller_id, 0)", "''"),
    "channel": (8, "f.channel_id", "''"),
    "page": (9, "0", "f.source_page"),
    "campaign": (10, "0", "f.campaign"),
}
TEXT_KEYED = frozenset(name for name, (_, key_id, _) in DIM_CODES.items() if key_id == "0")
_DIM_VALUES_EACH = [
    f"({code}, CAST({kid} AS bigint), CAST({ktx} AS text))" for code, kid, ktx in DIM_CODES.values()
]
_DIM_VALUES = ", ".join(_DIM_VALUES_EACH)

# One statement builds the facts of a set of orders (their current revisions) from the order
# tables, with the rate of each (currency, day) into the report currency, and records those
# rates. Each column as the read model documents it (docs/reporting.md).
_FACTS_SQL = """
WITH cur AS MATERIALIZED (
    SELECT o.* FROM orders_salesorder o WHERE o.is_current AND {where}
),
firsts AS MATERIALIZED (
    SELECT s.number, CAST(MIN(s.created_at) AT TIME ZONE %(tz)s AS date) AS day
      FROM orders_salesorder s WHERE s.number IN (SELECT number FROM cur) GROUP BY s.number
),
pairs AS (SELECT DISTINCT c.currency, d.day FROM cur c JOIN firsts d ON d.number = c.number),
rates AS MATERIALIZED (
    SELECT p.currency, p.day,
           CASE WHEN p.currency = %(rc)s THEN 1 ELSE COALESCE(
               (SELECT e.rate FROM pricing_exchangerate e
                 WHERE e.base = p.currency AND e.quote = %(rc)s AND e.valid_on <= p.day
                 ORDER BY e.valid_on DESC LIMIT 1),
               (SELECT ROUND(1 / e.rate, 20) FROM pricing_exchangerate e
                 WHERE e.base = %(rc)s AND e.quote = p.currency AND e.valid_on <= p.day
                 ORDER BY e.valid_on DESC LIMIT 1)) END AS rate
      FROM pairs p
),
recorded AS (
    INSERT INTO reporting_salesfxday (currency, day, rate) SELECT currency, day, rate FROM rates
    ON CONFLICT (currency, day) DO UPDATE SET rate = EXCLUDED.rate
)
INSERT INTO reporting_salesfact (
    line_id, order_id, order_number, day, channel_id, warehouse_id, currency, status, customer_group,
    customer_id, seller_id, country, region, source_page, campaign, product_id, brand_id, category_id,
    quantity, revenue, cost, canceled, rate)
SELECT l.id, o.id, o.number, d.day, o.channel_id, l.warehouse_id, o.currency, o.status, o.demand_class,
       o.customer_id, o.sales_rep_id,
       LEFT(COALESCE(a.address ->> 'country', ''), 2), LEFT(COALESCE(a.address ->> 'region', ''), 60),
       o.source_page, o.campaign, l.product_id, p.brand_id, p.category_id, l.quantity,
       CASE WHEN COALESCE(l.price_breakdown ->> 'net', '') = '' THEN l.unit_net_price * l.quantity
            ELSE CAST(l.price_breakdown ->> 'net' AS numeric) END,
       CASE WHEN l.uom = u.code THEN pc.unit_cost * l.quantity END,
       l.status = %(line_canceled)s OR o.status = %(order_canceled)s,
       r.rate
  FROM cur o
  JOIN firsts d ON d.number = o.number
  JOIN rates r ON r.currency = o.currency AND r.day = d.day
  JOIN orders_orderline l ON l.order_id = o.id
  JOIN catalog_product p ON p.id = l.product_id
  JOIN catalog_unitofmeasure u ON u.id = p.uom_id
  LEFT JOIN reporting_productcost pc ON pc.product_id = l.product_id AND pc.currency = o.currency
  CROSS JOIN LATERAL (
      SELECT CASE WHEN jsonb_typeof(l.ship_to) = 'object' AND l.ship_to <> '{{}}'::jsonb THEN l.ship_to
                  WHEN jsonb_typeof(o.ship_to) = 'object' THEN o.ship_to END AS address) a
"""

# The rollups' share of a set of facts, added (sign 1) or taken away (sign -1). Sums of exact
# products: taking away what was added leaves exactly what was there.
_DIMS_SQL = """
WITH f AS (
    SELECT f.*, f.revenue * f.rate AS rrev, f.cost * f.rate AS rcost
      FROM reporting_salesfact f WHERE NOT f.canceled AND {where}
),
m AS (
    SELECT CAST(date_trunc('month', CAST(f.day AS timestamp)) AS date) AS period, d.dim, d.key_id, d.key_text,
           COUNT(*) AS lines, COUNT(DISTINCT f.order_number) AS orders, SUM(f.quantity) AS units,
           COALESCE(SUM(f.rrev), 0) AS revenue, COALESCE(SUM(f.rcost), 0) AS cost,
           COALESCE(SUM(f.rrev) FILTER (WHERE f.cost IS NOT NULL), 0) AS costed_revenue,
           COUNT(*) FILTER (WHERE f.cost IS NOT NULL) AS costed_lines
      FROM f CROSS JOIN LATERAL (VALUES {dims}) d(dim, key_id, key_text)
     GROUP BY 1, 2, 3, 4
),
spans AS (
    SELECT 'm' AS span, m.* FROM m
    UNION ALL  -- a quarter is its three months (an order counts in one month only)
    SELECT 'q', CAST(date_trunc('quarter', CAST(period AS timestamp)) AS date), dim, key_id, key_text,
           SUM(lines), SUM(orders), SUM(units), SUM(revenue), SUM(cost), SUM(costed_revenue),
           SUM(costed_lines)
      FROM m GROUP BY 2, 3, 4, 5
)
INSERT INTO reporting_salesrollup AS r (span, period, dim, key_id, key_text, lines, orders, units,
                                        revenue, cost, costed_revenue, costed_lines)
SELECT span, period, dim, key_id, key_text, %(sign)s * lines, %(sign)s * orders, %(sign)s * units,
       %(sign)s * revenue, %(sign)s * cost, %(sign)s * costed_revenue, %(sign)s * costed_lines
  FROM spans
 ORDER BY dim, span, period, key_id, key_text
ON CONFLICT (dim, span, period, key_id, key_text) DO UPDATE SET
    lines = r.lines + EXCLUDED.lines, orders = r.orders + EXCLUDED.orders,
    units = r.units + EXCLUDED.units, revenue = r.revenue + EXCLUDED.revenue,
    cost = r.cost + EXCLUDED.cost, costed_revenue = r.costed_revenue + EXCLUDED.costed_revenue,
    costed_lines = r.costed_lines + EXCLUDED.costed_lines
"""

_DAYS_SQL = """
WITH f AS (
    SELECT f.*, f.revenue * f.rate AS rrev, f.cost * f.rate AS rcost
      FROM reporting_salesfact f WHERE {where}
)
INSERT INTO reporting_salesdaytotal AS t (day, lines, orders, units, revenue, cost, costed_revenue,
    costed_lines, costed_orders, canceled_lines, canceled_units, canceled_revenue, unrated)
SELECT f.day,
       %(sign)s * COUNT(*) FILTER (WHERE NOT f.canceled),
       %(sign)s * COUNT(DISTINCT f.order_number) FILTER (WHERE NOT f.canceled),
       %(sign)s * COALESCE(SUM(f.quantity) FILTER (WHERE NOT f.canceled), 0),
       %(sign)s * COALESCE(SUM(f.rrev) FILTER (WHERE NOT f.canceled), 0),
       %(sign)s * COALESCE(SUM(f.rcost) FILTER (WHERE NOT f.canceled), 0),
       %(sign)s * COALESCE(SUM(f.rrev) FILTER (WHERE NOT f.canceled AND f.cost IS NOT NULL), 0),
       %(sign)s * COUNT(*) FILTER (WHERE NOT f.canceled AND f.cost IS NOT NULL),
       %(sign)s * COUNT(DISTINCT f.order_number) FILTER (WHERE NOT f.canceled AND f.cost IS NOT NULL),
       %(sign)s * COUNT(*) FILTER (WHERE f.canceled),
       %(sign)s * COALESCE(SUM(f.quantity) FILTER (WHERE f.canceled), 0),
       %(sign)s * COALESCE(SUM(f.rrev) FILTER (WHERE f.canceled), 0),
       %(sign)s * COUNT(*) FILTER (WHERE f.rate IS NULL)
  FROM f GROUP BY f.day ORDER BY f.day
ON CONFLICT (day) DO UPDATE SET
    lines = t.lines + EXCLUDED.lines, orders = t.orders + EXCLUDED.orders, units = t.units + EXCLUDED.units,
    revenue = t.revenue + EXCLUDED.revenue, cost = t.cost + EXCLUDED.cost,
    costed_revenue = t.costed_revenue + EXCLUDED.costed_revenue,
    costed_lines = t.costed_lines + EXCLUDED.costed_lines,
    costed_orders = t.costed_orders + EXCLUDED.costed_orders,
    canceled_lines = t.canceled_lines + EXCLUDED.canceled_lines,
    canceled_units = t.canceled_units + EXCLUDED.canceled_units,
    canceled_revenue = t.canceled_revenue + EXCLUDED.canceled_revenue,
    unrated = t.unrated + EXCLUDED.unrated
"""

_ORDERS_SQL = """
INSERT INTO reporting_salesordertotal (order_number, day, units, revenue, cost, costed_revenue, costed_lines)
SELECT f.order_number, f.day, SUM(f.quantity), COALESCE(SUM(f.revenue * f.rate), 0),
       COALESCE(SUM(f.cost * f.rate), 0),
       COALESCE(SUM(f.revenue * f.rate) FILTER (WHERE f.cost IS NOT NULL), 0),
       COUNT(*) FILTER (WHERE f.cost IS NOT NULL)
  FROM reporting_salesfact f
 WHERE NOT f.canceled AND {where}
 GROUP BY f.order_number, f.day
"""


def _params(**extra: Any) -> dict[str, Any]:
    return {
        "tz": settings.TIME_ZONE,
        "rc": settings.OMS_REPORT_CURRENCY,
        "line_canceled": LineStatus.CANCELED.value,
        "order_canceled": OrderStatus.CANCELED.value,
        "dims": None,
        **extra,
    }


def _run(cursor, sql: str, params: dict[str, Any]) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def _rollups(cursor, where: str, params: dict[str, Any], dims: str = _DIM_VALUES) -> None:
    _run(cursor, _DIMS_SQL.format(where=where, dims=dims), params)
    _run(cursor, _DAYS_SQL.format(where=where), params)


def _replace(cursor, chunk: list[str]) -> int:
    """Replace the facts of these orders and move their share of the rollups by the difference."""
    where = "f.order_number = ANY(%(numbers)s)"
    p = _params(numbers=chunk, sign=-1)
    cursor.execute("SET LOCAL work_mem = '64MB'")
    _rollups(cursor, where, p)  # take the old facts' share away
    cursor.execute("DELETE FROM reporting_salesordertotal WHERE order_number = ANY(%(numbers)s)", p)
    cursor.execute("DELETE FROM reporting_salesfact WHERE order_number = ANY(%(numbers)s)", p)
    written = _run(cursor, _FACTS_SQL.format(where="o.number = ANY(%(numbers)s)"), p)
    _rollups(cursor, where, {**p, "sign": 1})
    _run(cursor, _ORDERS_SQL.format(where=where), p)
    return written


def facts_refresh(*, numbers: Iterable[str]) -> int:
    """Replace the facts of these orders (by number) with their current revisions' lines, and
    move the rollups by the difference. Returns the number of fact rows written. Idempotent;
    safe beside another refresh."""
    if not facts_kept():
        return 0
    numbers = sorted(set(numbers))
    written = 0
    for start in range(0, len(numbers), BATCH):
        chunk = numbers[start : start + BATCH]
        with transaction.atomic(), connection.cursor() as cursor:
            _lock()
            written += _replace(cursor, chunk)
    return written


def facts_catch_up(*, limit: int = 20_000) -> int:
    """Periodic: refresh the orders whose audit trail has rows the catch-up has not read yet.
    The cursor moves in the same transaction as the refresh, so a crash re-reads, never skips."""
    if not facts_kept():
        return 0
    with transaction.atomic():
        cursor, _ = RollupCursor.objects.get_or_create(name=CATCH_UP)
        cursor = RollupCursor.objects.select_for_update(of=("self",)).get(pk=cursor.pk)
        events = OrderEvent.objects.filter(pk__gt=cursor.last_event_id).order_by("pk")[:limit]
        batch = list(events.values_list("pk", "order__number"))
        if not batch:
            return 0
        numbers = {number for _, number in batch}
        facts_refresh(numbers=numbers)
        cursor.last_event_id = batch[-1][0]
        cursor.save(update_fields=["last_event_id", "updated_at"])
        return len(numbers)


_STALE_RATES_SQL = """
SELECT x.currency, x.day FROM reporting_salesfxday x
 CROSS JOIN LATERAL (
     SELECT CASE WHEN x.currency = %(rc)s THEN 1 ELSE COALESCE(
         (SELECT e.rate FROM pricing_exchangerate e
           WHERE e.base = x.currency AND e.quote = %(rc)s AND e.valid_on <= x.day
           ORDER BY e.valid_on DESC LIMIT 1),
         (SELECT ROUND(1 / e.rate, 20) FROM pricing_exchangerate e
           WHERE e.base = %(rc)s AND e.quote = x.currency AND e.valid_on <= x.day
           ORDER BY e.valid_on DESC LIMIT 1)) END AS rate) now
 WHERE now.rate IS DISTINCT FROM x.rate
"""


def fx_recheck() -> int:
    """Refresh the orders of every (currency, day) whose recorded rate is no longer pricing's
    rate of that day (a rate added or corrected after the facts were written; one query over
    the few recorded days). Returns the number of orders refreshed."""
    if not facts_kept():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_STALE_RATES_SQL, _params())
        stale = cursor.fetchall()
        if not stale:
            return 0
        cursor.execute(
            "SELECT DISTINCT f.order_number FROM reporting_salesfact f JOIN unnest(%s::text[], %s::date[])"
            " AS s(currency, day) ON s.currency = f.currency AND s.day = f.day",
            [[c for c, _ in stale], [d for _, d in stale]],
        )
        numbers = [row[0] for row in cursor.fetchall()]
    facts_refresh(numbers=numbers)
    return len(numbers)


def facts_rebuild(*, progress=None) -> int:
    """Rebuild every fact and rollup from the base tables (the `reports_rebuild` command), with
    set-based SQL (one statement for the facts, one per dimension for the rollups); the catch-up
    cursor then starts after the last audit row that existed before."""
    if not facts_kept():
        return 0
    last_event = OrderEvent.objects.aggregate(m=Max("pk"))["m"] or 0
    steps = len(DIM_CODES) + 3
    with transaction.atomic(), connection.cursor() as cursor:
        _lock()
        cursor.execute("SET LOCAL work_mem = '256MB'")
        for table in ("salesfact", "salesrollup", "salesdaytotal", "salesordertotal", "salesfxday"):
            cursor.execute(f"DELETE FROM reporting_{table}")  # noqa: S608 (fixed names)
        written = _run(cursor, _FACTS_SQL.format(where="TRUE"), _params())
        cursor.execute("ANALYZE reporting_salesfact")
        done = 1
        for value in _DIM_VALUES_EACH:
            if progress is not None:
                progress(done, steps)
            _run(cursor, _DIMS_SQL.format(where="TRUE", dims=value), _params(sign=1))
            done += 1
        _run(cursor, _DAYS_SQL.format(where="TRUE"), _params(sign=1))
        _run(cursor, _ORDERS_SQL.format(where="TRUE"), _params())
        if progress is not None:
            progress(steps, steps)
    RollupCursor.objects.update_or_create(name=CATCH_UP, defaults={"last_event_id": last_event})
    return written

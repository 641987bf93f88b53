"""The reports' data generator: N order lines over 2 years (default 1,000,000 lines, 5,000
products, 20,000 customers, 30 countries, 6 channels), written with set-based SQL (generate_series and
a seeded random()) into the real order tables; the reports' facts and rollups are then rebuilt
from them by `facts_rebuild` (the `reports_rebuild` command's path). Reusable by any benchmark:

    from bench.reports_data import generate
    info = generate(lines=1_000_000)          # after bench._common.setup_django()

Each generated order has one line (so the largest-orders export has one row per line); prices
are list prices without discounts, tax or shipping; 2 % of the lines are canceled; a quarter of
the orders are in EUR or GBP (with dated rates). A progress bar goes to stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from decimal import Decimal
from typing import Any

COUNTRIES = [
    "US",
    "CA",
    "MX",
    "BR",
    "AR",
    "GB",
    "IE",
    "FR",
    "DE",
    "NL",
    "BE",
    "ES",
    "PT",
    "IT",
    "CH",
    "AT",
    "SE",
    "NO",
    "DK",
    "FI",
    "PL",
    "CZ",
    "JP",
    "KR",
    "CN",
    "IN",
    "AU",
    "NZ",
    "ZA",
    "AE",
]
CHANNELS = ["web", "pos", "call_center", "field_sales", "marketplace", "import"]
PAGES = ["", "/", "/deals", "/tools/drills", "/brands/acme", "/search", "/blog/how-to"]
CAMPAIGNS = ["", "", "spring-sale", "newsletter", "retargeting", "black-friday"]
CURRENCIES = ["USD", "USD", "USD", "EUR", "GBP"]
PREFIX = "BR-"  # order numbers of generated orders


def _bar(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(
        f"\r{label:<14} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,} {rate:>9,.0f}/s"
    )
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _insert(cursor, model, given: dict[str, str], source: str, params: dict[str, Any]) -> int:
    """INSERT INTO the model's table SELECT the given SQL expressions (by field name) FROM
    `source`; the other fields take the model's default (one constant per column)."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.auto_created)]
    columns, exprs = [], []
    for f in fields:
        columns.append(f'"{f.column}"')
        if f.attname in given:
            exprs.append(given[f.attname])
        else:
            default = f.get_default() if f.has_default() else None
            if isinstance(default, dict | list):
                default = json.dumps(default)
            params[f"_d_{f.attname}"] = default
            exprs.append(f"%(_d_{f.attname})s")
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(exprs)} FROM {source}'
    )
    cursor.execute(sql, params)
    return cursor.rowcount


def reference(*, products: int = 5000, customers: int = 20000) -> dict[str, Any]:
    """Channels, a warehouse, brands, categories, products, customers and dated rates (idempotent)."""
    from django.contrib.auth import get_user_model

    from catalog.models import Brand, Category, Product, TaxClass, UnitOfMeasure
    from customers.models import Customer
    from inventory.models import Warehouse
    from partners.models import Channel
    from pricing.models import ExchangeRate

    for code in CHANNELS:
        Channel.objects.get_or_create(code=code, defaults={"name": code.title(), "type": "web"})
    Warehouse.objects.get_or_create(code="bench-wh", defaults={"name": "Bench warehouse", "country": "US"})
    tax, _ = TaxClass.objects.get_or_create(code="standard", defaults={"name": "Standard"})
    ea, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each"})
    brands = [
        Brand.objects.get_or_create(code=f"b{i}", defaults={"name": f"Brand {i}"})[0] for i in range(50)
    ]
    cats = [
        Category.objects.get_or_create(code=f"c{i}", defaults={"name": f"Category {i}"})[0] for i in range(40)
    ]
    have = set(Product.objects.filter(sku__startswith="BR-P").values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(
                sku=f"BR-P{i:05d}",
                name=f"Bench product {i}",
                brand=brands[i % 50],
                category=cats[i % 40],
                uom=ea,
                tax_class=tax,
            )
            for i in range(products)
            if f"BR-P{i:05d}" not in have
        ],
        batch_size=2000,
    )
    have = set(
        Customer.objects.filter(account_number__startswith="BR-C").values_list("account_number", flat=True)
    )
    Customer.objects.bulk_create(
        [
            Customer(account_number=f"BR-C{i:05d}", name=f"Bench customer {i}")
            for i in range(customers)
            if f"BR-C{i:05d}" not in have
        ],
        batch_size=5000,
    )
    reps = [get_user_model().objects.get_or_create(username=f"bench-rep{i}")[0].pk for i in range(25)]
    start = dt.date.today() - dt.timedelta(days=2 * 366)
    for base, rate in (("EUR", Decimal("1.08")), ("GBP", Decimal("1.27"))):
        for month in range(0, 62):  # from 2 years before the data: a 2-year range compares with those
            day = start - dt.timedelta(days=1100) + dt.timedelta(days=30 * month)
            ExchangeRate.objects.get_or_create(
                base=base, quote="USD", valid_on=day, defaults={"rate": rate + Decimal(month % 5) / 100}
            )
    return {
        "channels": dict(Channel.objects.filter(code__in=CHANNELS).values_list("code", "pk")),
        "warehouse": Warehouse.objects.get(code="bench-wh").pk,
        "products": list(
            Product.objects.filter(sku__startswith="BR-P").values_list("pk", "brand_id", "category_id")
        ),
        "customers": list(
            Customer.objects.filter(account_number__startswith="BR-C").values_list("pk", flat=True)
        ),
        "reps": reps,
        "start": start,
    }


# The generated history, one row per order (each with one line), drawn by PostgreSQL's seeded
# random(): the day, hour and minute, product, customer, quantity, price and whether it is canceled.
_DRAW = """
CREATE TEMP TABLE bench_draw ON COMMIT DROP AS
SELECT n, %(prefix)s || n AS number,
       CAST(%(start)s AS date) + CAST(floor(random() * %(days)s) AS int) AS day,
       CAST(floor(random() * 24) AS int) AS hh, CAST(floor(random() * 60) AS int) AS mi,
       1 + CAST(floor(random() * %(n_products)s) AS int) AS pi,
       1 + CAST(floor(random() * %(n_customers)s) AS int) AS ci,
       CAST(1 + floor(random() * 5) AS numeric) AS qty,
       CAST(500 + floor(random() * 49501) AS numeric) / 100 AS price,
       random() < 0.02 AS canceled,
       1 + CAST(floor(random() * 30) AS int) AS country_i, CAST(floor(random() * 10) AS int) AS region_i
  FROM generate_series(CAST(%(first)s AS bigint), CAST(%(last)s AS bigint)) AS n
"""
_SOURCE = """
bench_draw g
JOIN unnest(CAST(%(product_ids)s AS bigint[])) WITH ORDINALITY AS p(id, i) ON p.i = g.pi
JOIN unnest(CAST(%(customer_ids)s AS bigint[])) WITH ORDINALITY AS c(id, i) ON c.i = g.ci
CROSS JOIN LATERAL (SELECT
    (CAST(%(channel_ids)s AS bigint[]))[1 + g.n %% 6] AS channel_id,
    (CAST(%(channel_codes)s AS text[]))[1 + g.n %% 6] AS channel_code,
    (CAST(%(currencies)s AS text[]))[1 + g.n %% 5] AS currency,
    CASE WHEN g.n %% 3 = 0 THEN NULL ELSE (CAST(%(reps)s AS bigint[]))[1 + g.n %% 25] END AS rep,
    (CAST(%(countries)s AS text[]))[g.country_i] AS country,
    g.qty * g.price AS net) x
"""


def write(
    ref: dict[str, Any], *, lines: int, seed: int, first: int, days: int, start: dt.date, facts: bool = True
) -> list[str]:
    """Insert `lines` one-line orders (numbers BR-<first>...) into the order tables with
    set-based SQL (generate_series and seeded random()), and, when `facts`, rebuild the sales
    facts and rollups from them (`facts_rebuild`, the command's path). Returns the order numbers."""
    from django.db import connection, transaction

    from orders.models import OrderLine, SalesOrder
    from reporting.reports.rollups import facts_rebuild

    params: dict[str, Any] = {
        "prefix": PREFIX,
        "start": start,
        "days": days,
        "first": first,
        "last": first + lines - 1,
        "n_products": len(ref["products"]),
        "n_customers": len(ref["customers"]),
        "product_ids": [p for p, _, _ in ref["products"]],
        "customer_ids": list(ref["customers"]),
        "channel_ids": [ref["channels"][c] for c in CHANNELS],
        "channel_codes": CHANNELS,
        "currencies": CURRENCIES,
        "reps": ref["reps"],
        "countries": COUNTRIES,
        "pages": PAGES,
        "campaigns": CAMPAIGNS,
        "warehouse": ref["warehouse"],
    }
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(_DRAW, params)
        _bar("drawn", 1, 4, started)
        at = "(CAST(g.day AS timestamp) + make_interval(hours => g.hh, mins => g.mi)) AT TIME ZONE 'UTC'"
        web = "x.channel_code = 'web'"
        _insert(
            cursor,
            SalesOrder,
            {
                "number": "g.number",
                "channel_id": "x.channel_id",
                "source_order_id": "g.number",
                "status": "CASE WHEN g.canceled THEN 'canceled' ELSE 'open' END",
                "customer_id": "c.id",
                "ship_to": "jsonb_build_object('city', 'X', 'line1', '1 Main', 'region', 'R' || g.region_i, "
                "'country', x.country)",
                "currency": "x.currency",
                "sales_rep_id": "x.rep",
                "subtotal": "x.net",
                "total": "x.net",
                "source_page": f"CASE WHEN {web} THEN (CAST(%(pages)s AS text[]))[1 + g.n %% 7] ELSE '' END",
                "campaign": f"CASE WHEN {web} THEN (CAST(%(campaigns)s AS text[]))[1 + g.n %% 6] ELSE '' END",
                "created_at": at,
                "updated_at": at,
            },
            _SOURCE + " ORDER BY g.day, g.n",  # in day order, as orders arrive
            params,
        )
        _bar("orders", 2, 4, started)
        _insert(
            cursor,
            OrderLine,
            {
                "order_id": "o.id",
                "line_number": "1",
                "source_line_id": "'1'",
                "product_id": "p.id",
                "quantity": "g.qty",
                "uom": "'EA'",
                "unit_list_price": "g.price",
                "unit_net_price": "g.price",
                "price_breakdown": "jsonb_build_object('net', CAST(x.net AS text))",
                "line_total": "x.net",
                "status": "CASE WHEN g.canceled THEN 'canceled' ELSE 'open' END",
                "warehouse_id": "%(warehouse)s",
            },
            _SOURCE + " JOIN orders_salesorder o ON o.number = g.number",
            params,
        )
        _bar("order lines", 3, 4, started)
    if facts:
        facts_rebuild(progress=lambda done, total: _bar("facts+rollups", done, total, started))
    return [f"{PREFIX}{n}" for n in range(first, first + lines)]


def generate(*, lines: int = 1_000_000, products: int = 5000, customers: int = 20000) -> dict[str, Any]:
    """The full data set (skipped when it is already there). Returns the reference ids."""
    from django.db import connection

    from orders.models import SalesOrder

    ref = reference(products=products, customers=customers)
    have = SalesOrder.objects.filter(number__startswith=PREFIX).count()
    if have < lines:
        if have:
            raise SystemExit(
                f"{have} generated orders already there, fewer than {lines}: drop the bench database"
            )
        started = time.monotonic()
        write(ref, lines=lines, seed=42, first=0, days=730, start=ref["start"])
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE orders_salesorder; ANALYZE orders_orderline; ANALYZE reporting_salesfact;"
                " ANALYZE reporting_salesrollup; ANALYZE reporting_salesdaytotal;"
                " ANALYZE reporting_salesordertotal"
            )
        ref["generated_seconds"] = round(time.monotonic() - started, 1)
    ref["lines"] = lines
    return ref

"""The reports' data generator: N order lines over 2 years (default 1,000,000 lines, 5,000
products, 20,000 customers, 30 countries, 6 channels), written with PostgreSQL COPY into the real
order tables and, from the same values, into the reports' sales facts. Reusable by any benchmark:

    from bench.reports_data import generate
    info = generate(lines=1_000_000)          # after bench._common.setup_django()

Each generated order has one line (so the largest-orders export has one row per line); prices
are list prices without discounts, tax or shipping; 2 % of the lines are canceled; a quarter of
the orders are in EUR or GBP (with dated rates). A progress bar goes to stderr.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator
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


def _text(value: Any) -> str:
    if value.__class__ in (str, int, Decimal):  # generated values hold no tab, newline or backslash
        return str(value)
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    elif isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(
    cursor, model, rows: Iterable[dict[str, Any]], *, label: str, total: int, chunk: int = 50_000
) -> int:
    """COPY rows (dicts by field name, the same keys in every row) into the model's table; the
    fields a row does not give take the model's default (rendered once). Returns the number written."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.auto_created)]
    buffer, n, started = io.StringIO(), 0, time.monotonic()
    given: list[str] | None = None
    columns = suffix = ""

    def flush() -> None:
        buffer.seek(0)
        cursor.copy_expert(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN', buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        if given is None:  # the columns a row gives first, then the defaults as one constant suffix
            given = [f.attname for f in fields if f.attname in row]
            rest = [f for f in fields if f.attname not in row]
            columns = ", ".join(f'"{model._meta.get_field(a).column}"' for a in given)
            columns += "".join(f', "{f.column}"' for f in rest)
            suffix = "".join("\t" + _text(f.get_default() if f.has_default() else None) for f in rest)
        buffer.write("\t".join([_text(row[a]) for a in given]))
        buffer.write(suffix)
        buffer.write("\n")
        n += 1
        if n % chunk == 0:
            flush()
            _bar(label, n, total, started)
    if n % chunk:
        flush()
    _bar(label, n, total, started)
    return n


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


@functools.cache
def _address(country: str, region: str) -> str:
    return json.dumps({"city": "X", "line1": "1 Main", "region": region, "country": country})


def _orders(
    ref: dict[str, Any], lines: int, *, seed: int, first: int, days: int, start: dt.date
) -> Iterator[dict]:
    rng = random.Random(seed)
    channels = list(ref["channels"].items())
    for n in range(first, first + lines):
        day = start + dt.timedelta(days=rng.randrange(days))
        at = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), tzinfo=dt.UTC)
        pid, brand, cat = ref["products"][rng.randrange(len(ref["products"]))]
        code, channel = channels[n % len(channels)]
        qty = Decimal(rng.randint(1, 5))
        price = Decimal(rng.randint(500, 50_000)) / 100
        net = qty * price
        canceled = rng.random() < 0.02
        country = COUNTRIES[rng.randrange(len(COUNTRIES))]
        yield {
            "n": n,
            "at": at,
            "day": day,
            "channel": channel,
            "customer": ref["customers"][rng.randrange(len(ref["customers"]))],
            "rep": ref["reps"][n % len(ref["reps"])] if n % 3 else None,
            "currency": CURRENCIES[n % len(CURRENCIES)],
            "country": country,
            "region": f"R{rng.randrange(10)}",
            "product": pid,
            "brand": brand,
            "category": cat,
            "qty": qty,
            "price": price,
            "net": net,
            "canceled": canceled,
            "page": PAGES[n % len(PAGES)] if code == "web" else "",
            "campaign": CAMPAIGNS[n % len(CAMPAIGNS)] if code == "web" else "",
        }


def write(
    ref: dict[str, Any], *, lines: int, seed: int, first: int, days: int, start: dt.date, facts: bool = True
) -> list[str]:
    """COPY `lines` one-line orders (numbers BR-<first>...) into the order tables and, when
    `facts`, into the sales facts. Returns the order numbers."""
    from django.db import connection, transaction

    from orders.models import OrderLine, SalesOrder
    from reporting.models import SalesFact

    rows = list(_orders(ref, lines, seed=seed, first=first, days=days, start=start))
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(
            raw,
            SalesOrder,
            (
                {
                    "number": f"{PREFIX}{r['n']}",
                    "channel_id": r["channel"],
                    "source_order_id": f"{PREFIX}{r['n']}",
                    "status": "canceled" if r["canceled"] else "open",
                    "customer_id": r["customer"],
                    "ship_to": _address(r["country"], r["region"]),
                    "currency": r["currency"],
                    "sales_rep_id": r["rep"],
                    "subtotal": r["net"],
                    "total": r["net"],
                    "source_page": r["page"],
                    "campaign": r["campaign"],
                    "created_at": r["at"].isoformat(),
                    "updated_at": r["at"].isoformat(),
                }
                for r in rows
            ),
            label="orders",
            total=lines,
        )
        ids = (
            dict(
                SalesOrder.objects.filter(
                    number__startswith=PREFIX, number__in=[f"{PREFIX}{r['n']}" for r in rows]
                ).values_list("number", "pk")
            )
            if lines <= 50_000
            else dict(SalesOrder.objects.filter(number__startswith=PREFIX).values_list("number", "pk"))
        )
        _copy(
            raw,
            OrderLine,
            (
                {
                    "order_id": ids[f"{PREFIX}{r['n']}"],
                    "line_number": 1,
                    "source_line_id": "1",
                    "product_id": r["product"],
                    "quantity": r["qty"],
                    "uom": "EA",
                    "unit_list_price": r["price"],
                    "unit_net_price": r["price"],
                    "price_breakdown": {"net": str(r["net"])},
                    "line_total": r["net"],
                    "status": "canceled" if r["canceled"] else "open",
                    "warehouse_id": ref["warehouse"],
                }
                for r in rows
            ),
            label="order lines",
            total=lines,
        )
        if facts:
            line_ids = (
                dict(OrderLine.objects.filter(order_id__in=list(ids.values())).values_list("order_id", "pk"))
                if lines <= 50_000
                else dict(
                    OrderLine.objects.filter(order__number__startswith=PREFIX).values_list("order_id", "pk")
                )
            )
            _copy(
                raw,
                SalesFact,
                (
                    {
                        "line_id": line_ids[ids[f"{PREFIX}{r['n']}"]],
                        "order_id": ids[f"{PREFIX}{r['n']}"],
                        "order_number": f"{PREFIX}{r['n']}",
                        "day": r["day"],
                        "channel_id": r["channel"],
                        "warehouse_id": ref["warehouse"],
                        "currency": r["currency"],
                        "status": "canceled" if r["canceled"] else "open",
                        "customer_group": "standard",
                        "customer_id": r["customer"],
                        "seller_id": r["rep"],
                        "country": r["country"],
                        "region": r["region"],
                        "source_page": r["page"],
                        "campaign": r["campaign"],
                        "product_id": r["product"],
                        "brand_id": r["brand"],
                        "category_id": r["category"],
                        "quantity": r["qty"],
                        "revenue": r["net"],
                        "cost": None,
                        "canceled": r["canceled"],
                    }
                    for r in rows
                ),
                label="sales facts",
                total=lines,
            )
    return [f"{PREFIX}{r['n']}" for r in rows]


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
            cursor.execute("ANALYZE orders_salesorder; ANALYZE orders_orderline; ANALYZE reporting_salesfact")
        ref["generated_seconds"] = round(time.monotonic() - started, 1)
    ref["lines"] = lines
    return ref

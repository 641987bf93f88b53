"""Rebates: accrual of 100,000 shipment lines across 50 active programs in one set-based run
(target: under 10 s, a number of queries that does not grow with the lines), on PostgreSQL.

The world: 30 suppliers with 14 products each, 200 customers (20 in a customer group); 50
programs: 30 supplier rebates (one per supplier; stepped and retrospective, value and quantity
tiers, one in EUR), 10 customer volume rebates (5 on one customer, 5 on the group), 10
ship-and-debit programs with one authorization each (some with a maximum quantity that the run
crosses). 1,000 shipments of 100 lines. The run is timed twice on fresh accruals (median), with
its query count, and once
more as a redelivery (everything accrued already: nothing written).

Its own database (`oms_bench_rebates`, or the one OMS_BENCH_DATABASE_URL names), rebuilt on every run.
"""

from __future__ import annotations

import os
import random
import statistics
from datetime import UTC, date, datetime, time
from decimal import Decimal

from _common import Timer, emit, setup_django

LINES = int(os.environ.get("BENCH_REBATE_LINES", "100000"))
PER_SHIPMENT = 100
DB = os.environ.get("OMS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_rebates")


def _world():
    from catalog.models import Brand, Category, Product, Supplier, TaxClass, UnitOfMeasure
    from customers.models import Customer
    from fulfillment.models import FulfillmentLine, Shipment, ShipmentLine
    from inventory.models import Warehouse
    from orders.models import OrderLine, SalesOrder
    from partners.models import Channel, ChannelType
    from pricing.models import ExchangeRate, PricingSegment, SegmentMembership
    from rebates.models import ProgramTier, RebateProgram, ShipDebitAuthorization

    rnd = random.Random(18)
    tax, _ = TaxClass.objects.get_or_create(code="standard", defaults={"name": "Standard"})
    uom, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each"})
    brand, _ = Brand.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    cat, _ = Category.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    suppliers = [
        Supplier.objects.create(code=f"bs-{i}", name=f"Bench supplier {i}", country="US") for i in range(30)
    ]
    products = Product.objects.bulk_create(
        Product(
            sku=f"BR-{s}-{j}",
            name=f"P {s}-{j}",
            brand=brand,
            category=cat,
            uom=uom,
            tax_class=tax,
            primary_supplier=suppliers[s],
        )
        for s in range(30)
        for j in range(14)
    )
    customers = Customer.objects.bulk_create(
        Customer(account_number=f"BC-{i}", name=f"Bench customer {i}") for i in range(200)
    )
    group = PricingSegment.objects.create(code="bench-group", name="Bench group")
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=group, customer=c) for c in customers[:20]
    )
    ExchangeRate.objects.get_or_create(
        base="EUR", quote="USD", valid_on=date(2026, 1, 1), defaults={"rate": "1.1"}
    )
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    programs = []
    for i in range(30):
        p = RebateProgram.objects.create(
            code=f"bench-sr-{i}",
            name=f"Supplier rebate {i}",
            program_type="supplier_rebate",
            status="active",
            supplier=suppliers[i],
            currency="EUR" if i == 0 else "USD",
            basis="shipments",
            calc_method="percent" if i % 2 else "per_unit",
            tier_mode="stepped" if i % 3 else "retrospective",
            tier_measure="value" if i % 2 else "quantity",
            period="quarter",
            start_date=start,
            end_date=end,
        )
        if i % 5 == 0:
            p.products.set(products[i * 14 : i * 14 + 7])
        programs.append(p)
    for i in range(10):
        programs.append(
            RebateProgram.objects.create(
                code=f"bench-cv-{i}",
                name=f"Customer rebate {i}",
                program_type="customer_volume",
                status="active",
                customer=customers[i] if i < 5 else None,
                customer_segment=group if i >= 5 else None,
                basis="shipments",
                calc_method="percent",
                tier_mode="retrospective",
                tier_measure="value",
                period="year",
                start_date=start,
                end_date=end,
            )
        )
    ProgramTier.objects.bulk_create(
        ProgramTier(
            program=p, lower=Decimal(lo), upper=None if up is None else Decimal(up), rate=Decimal(rate)
        )
        for p in programs
        for lo, up, rate in ((0, 5000, "1.5"), (5000, 20000, "2.5"), (20000, None, "3.5"))
    )
    for i in range(10):
        p = RebateProgram.objects.create(
            code=f"bench-sd-{i}",
            name=f"Ship and debit {i}",
            program_type="ship_and_debit",
            status="active",
            supplier=suppliers[i],
            start_date=start,
            end_date=end,
        )
        auth = ShipDebitAuthorization.objects.create(
            program=p,
            number=f"SD-{i}",
            valid_from=start,
            valid_to=end,
            method="amount_off",
            value=Decimal("2.5"),
            max_quantity=Decimal(500) if i % 2 else None,
        )
        auth.customers.set(customers[i * 10 : i * 10 + 10])
        auth.products.set(products[i * 14 : i * 14 + 5])
        programs.append(p)
    channel = Channel.objects.create(code="bench-rebates", name="Bench", type=ChannelType.WEB)
    warehouse = Warehouse.objects.create(code="bench-rwh", name="Bench", country="US")
    shipments = LINES // PER_SHIPMENT
    orders = SalesOrder.objects.bulk_create(
        SalesOrder(
            number=f"SO-BR{n:06d}",
            channel=channel,
            source_order_id=f"br-{n}",
            status="shipped",
            customer=customers[rnd.randrange(200)],
            currency="USD",
        )
        for n in range(shipments)
    )
    lines = OrderLine.objects.bulk_create(
        (
            OrderLine(
                order=o,
                line_number=k + 1,
                source_line_id=str(k + 1),
                product=products[rnd.randrange(len(products))],
                quantity=Decimal(q),
                uom="EA",
                unit_net_price=Decimal("12.50"),
                line_total=Decimal(q) * 12,
                status="shipped",
                shipped_quantity=Decimal(q),
            )
            for o in orders
            for k, q in ((k, rnd.randint(1, 20)) for k in range(PER_SHIPMENT))
        ),
        batch_size=5000,
    )
    fls = FulfillmentLine.objects.bulk_create(
        (
            FulfillmentLine(
                order_id=ol.order_id,
                order_line=ol,
                order_number="",
                source_line_id=ol.source_line_id,
                product_id=ol.product_id,
                quantity=ol.quantity,
                status="shipped",
                shipped_quantity=ol.quantity,
                warehouse=warehouse,
            )
            for ol in lines
        ),
        batch_size=5000,
    )
    day = datetime.combine(date(2026, 5, 4), time(12), tzinfo=UTC)
    ships = Shipment.objects.bulk_create(
        Shipment(
            number=f"SH-BR{o.pk}",
            order=o,
            order_number=o.number,
            warehouse=warehouse,
            status="shipped",
            request_key=f"br:{o.pk}",
            shipped_at=day,
        )
        for o in orders
    )
    by_order = {s.order_id: s for s in ships}
    sls = ShipmentLine.objects.bulk_create(
        (
            ShipmentLine(
                shipment=by_order[fl.order_id],
                fulfillment_line=fl,
                quantity_requested=fl.quantity,
                quantity_shipped=fl.quantity,
            )
            for fl in fls
        ),
        batch_size=5000,
    )
    return [sl.pk for sl in sls], len(programs)


def _reset() -> None:
    from django.db import connection

    from rebates.models import Accrual, JournalEntry, RebateEvent, RebateProgram, ShipDebitAuthorization

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {Accrual._meta.db_table}, {JournalEntry._meta.db_table} CASCADE")
    RebateEvent.objects.all().delete()
    RebateProgram.objects.update(accrued_amount=0)
    ShipDebitAuthorization.objects.update(consumed_quantity=0)


def run() -> dict:
    from _common import _ensure_pg_database

    _ensure_pg_database(DB)
    import psycopg2

    name = DB.rsplit("/", 1)[-1]
    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    setup_django(database_url=DB)
    from django.db import connection
    from django.db.models import Sum
    from django.test.utils import CaptureQueriesContext

    from rebates.models import Accrual, JournalLine
    from rebates.services.accruals import accrue_shipment_lines

    with Timer() as build:
        ids, programs = _world()
    samples, queries, created = [], [], 0
    for _ in range(2):
        _reset()
        with CaptureQueriesContext(connection) as ctx, Timer() as t:
            run_ = accrue_shipment_lines(shipment_line_ids=ids)
        samples.append(t.elapsed)
        queries.append(len(ctx.captured_queries))
        created = len(run_.created)
    _reset()
    with CaptureQueriesContext(connection) as small_ctx:
        accrue_shipment_lines(shipment_line_ids=ids[:1000])
    _reset()
    accrue_shipment_lines(shipment_line_ids=ids)
    with Timer() as again:
        rerun = accrue_shipment_lines(shipment_line_ids=ids)
    assert rerun.created == [] and rerun.already == created
    balanced = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert balanced["d"] == balanced["c"], balanced
    assert Accrual.objects.count() == created
    return {
        "name": "rebates_accrual",
        "figures": {
            f"accrue {len(ids):,} shipment lines, {programs} programs, s (median of 2)": round(
                statistics.median(samples), 2
            ),
            "accruals written": created,
            "queries for the whole run": queries[-1],
            "queries for a run of 1,000 lines": len(small_ctx.captured_queries),
            "redelivery of all lines (nothing written), s": round(again.elapsed, 2),
            "world build (not timed in the figure), s": round(build.elapsed, 1),
        },
        "unit": {},
        "notes": "PostgreSQL, one process; figures are noisy when the machine is busy with other test suites",
    }


if __name__ == "__main__":
    emit(run())

"""Pricing: lines priced per second for 100-line orders against 500 active rules, on PostgreSQL.

The engine (`price()` over a loaded snapshot) and the snapshot load (the version read and the
customer; the rule set and the products cached with it) are timed apart, then together
(`price_quote`, the real call: the figure the target is about), and the cold loads once: the rule
set reload and a snapshot whose products are not cached yet. One process, one core, DEBUG off
as in production (DEBUG keeps a log of every query).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from decimal import Decimal

from _common import emit, median_of, setup_django

PRODUCTS = 1000
CATEGORIES = 40
BRANDS = 10
LINES = 100
ORDERS = 60  # per timed round


def _setup() -> list[str]:
    from django.db import transaction

    from catalog.models import Brand, Category, Product, TaxClass, UnitOfMeasure
    from customers.models import Customer, CustomerSite
    from partners.models import Channel, ChannelType
    from pricing import models as pm

    rng = random.Random(7)
    with transaction.atomic():
        for model in (
            pm.CouponRedemption,
            pm.Coupon,
            pm.PriceTier,
            pm.PriceListItem,
            pm.StrategyAssignment,
            pm.StrategyPriceList,
            pm.PricingStrategy,
            pm.DiscountRule,
            pm.SegmentMembership,
            pm.PricingSegment,
            pm.PriceList,
            pm.TaxRule,
            pm.ShippingRule,
            pm.ExchangeRate,
        ):
            model.objects.all().delete()
        tax, _ = TaxClass.objects.get_or_create(code="pbench-standard", defaults={"name": "Bench standard"})
        ea, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each"})
        cats = [
            Category.objects.get_or_create(code=f"pbench-c{i}", defaults={"name": f"Pricing bench {i}"})[0]
            for i in range(CATEGORIES)
        ]
        brands = [
            Brand.objects.get_or_create(code=f"pbench-b{i}", defaults={"name": f"Pricing bench brand {i}"})[0]
            for i in range(BRANDS)
        ]
        Product.objects.bulk_create(  # kept between runs (other apps may refer to products)
            [
                Product(
                    sku=f"PB-{n:05d}",
                    name=f"Bench {n}",
                    brand=brands[n % BRANDS],
                    category=cats[n % CATEGORIES],
                    uom=ea,
                    tax_class=tax,
                    weight_kg=Decimal("1.5"),
                )
                for n in range(PRODUCTS)
            ],
            ignore_conflicts=True,
        )
        products = list(Product.objects.filter(sku__startswith="PB-").order_by("sku"))
        channel, _ = Channel.objects.get_or_create(
            code="bench", defaults={"name": "Bench", "type": ChannelType.WEB}
        )
        customer, created = Customer.objects.get_or_create(
            account_number="BENCH-1", defaults={"name": "Bench Co"}
        )
        if created:
            CustomerSite.objects.create(
                customer=customer,
                line1="1 Bench St",
                city="Chicago",
                region="IL",
                country="US",
                is_primary=True,
            )
        usd = pm.PriceList.objects.create(code="bench-usd", name="Bench USD", currency="USD", status="active")
        eur = pm.PriceList.objects.create(code="bench-eur", name="Bench EUR", currency="EUR", status="active")
        items = [
            pm.PriceListItem(
                price_list=usd if n % 5 else eur,
                product=p,
                uom=ea,
                unit_price=Decimal(rng.randint(100, 50000)) / 100,
                tier_mode=["all_units", "graduated", "block"][n % 3],
                block_size=Decimal(6) if n % 3 == 2 else None,
            )
            for n, p in enumerate(products)
        ]
        pm.PriceListItem.objects.bulk_create(items)
        tiers = []
        for item in pm.PriceListItem.objects.filter(price_list__in=[usd, eur]):
            tiers += [
                pm.PriceTier(item=item, lower=Decimal(0), upper=Decimal(10), unit_price=item.unit_price),
                pm.PriceTier(item=item, lower=Decimal(10), upper=None, unit_price=item.unit_price * 9 / 10),
            ]
        pm.PriceTier.objects.bulk_create(tiers)
        strategy = pm.PricingStrategy.objects.create(code="bench", name="Bench")
        pm.StrategyPriceList.objects.create(strategy=strategy, price_list=usd, position=1)
        pm.StrategyPriceList.objects.create(strategy=strategy, price_list=eur, position=2)
        pm.StrategyAssignment.objects.create(strategy=strategy, level="default")
        segment = pm.PricingSegment.objects.create(code="bench-all", name="All", customer_kind="b2b")
        pm.ExchangeRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.0831"), valid_on="2024-01-01")
        pm.TaxRule.objects.create(name="IL", country="US", region="IL", tax_class=tax, rate=Decimal("6.25"))
        pm.ShippingRule.objects.create(
            name="Ground",
            ship_method="ground",
            currency="USD",
            flat_amount=Decimal("9.95"),
            per_kg_amount=Decimal("0.35"),
        )
        # 500 active rules: 10 per category (400), 5 per brand (50), 50 for products, segments, channels
        # and order-level; every line meets 10 category + 5 brand candidates, and more for some.
        actions = ["percent_off", "percent_off", "amount_off", "markup", "percent_off"]
        rules = []
        for i in range(CATEGORIES * 10):
            rules.append(
                pm.DiscountRule(
                    code=f"cat-{i}",
                    name=f"Category rule {i}",
                    action=actions[i % 5],
                    value=Decimal(rng.randint(1, 5)),
                    currency="USD",
                    priority=rng.randint(1, 99),
                    apply_on="list" if i % 4 == 0 else "net",
                    combination="best_price" if i % 10 == 9 else "stackable",
                    min_quantity=Decimal(5) if i % 7 == 0 else None,
                )
            )
        for i in range(BRANDS * 5):
            rules.append(
                pm.DiscountRule(
                    code=f"brand-{i}",
                    name=f"Brand rule {i}",
                    action="percent_off",
                    value=Decimal("0.5"),
                    priority=rng.randint(1, 99),
                )
            )
        for i in range(50):
            rules.append(
                pm.DiscountRule(
                    code=f"misc-{i}",
                    name=f"Misc rule {i}",
                    action="percent_off" if i % 10 else "price_override",
                    value=Decimal(1) if i % 10 else Decimal(99),
                    currency="USD",
                    level="order" if i % 25 == 0 else "line",
                    priority=rng.randint(1, 99),
                )
            )
        pm.DiscountRule.objects.bulk_create(rules)
        by_code = {r.code: r for r in pm.DiscountRule.objects.all()}
        for i in range(CATEGORIES * 10):
            by_code[f"cat-{i}"].categories.add(cats[i % CATEGORIES])
        for i in range(BRANDS * 5):
            by_code[f"brand-{i}"].brands.add(brands[i % BRANDS])
        for i in range(50):
            rule = by_code[f"misc-{i}"]
            if rule.level == "order":
                continue
            if i % 3 == 0:
                rule.products.add(*products[i::50][:20])
            elif i % 3 == 1:
                rule.segments.add(segment)
                rule.categories.add(cats[i % CATEGORIES])
            else:
                rule.channels.add(channel)
                rule.categories.add(cats[i % CATEGORIES])
        pm.AdjustmentReason.objects.get_or_create(code="bench", defaults={"name": "Bench"})
        from pricing.snapshot import ruleset_version_bump

        ruleset_version_bump()
    return [p.sku for p in products]


def run() -> dict:
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex * 2)
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pricing.engine import LineRequest, PriceRequest, ShipTo, price
    from pricing.services import price_quote
    from pricing.snapshot import ruleset_cache_clear, ruleset_current, ruleset_load, snapshot_load

    skus = _setup()
    rng = random.Random(11)
    orders = [
        PriceRequest(
            currency="USD",
            lines=tuple(LineRequest(sku, Decimal(rng.randint(1, 40))) for sku in rng.sample(skus, LINES)),
            customer_account="BENCH-1",
            channel_code="bench",
            ship_to=ShipTo("US", "IL"),
            ship_method="ground",
        )
        for _ in range(ORDERS)
    ]

    ruleset_cache_clear()
    started = time.perf_counter()
    ruleset = ruleset_load()
    reload_ms = (time.perf_counter() - started) * 1000
    assert len(ruleset.rules) == 500
    ruleset_current()  # warm the process cache

    warm_ruleset = ruleset_current()
    with CaptureQueriesContext(connection) as queries:
        snapshot_load(orders[0])  # its products are not cached yet
    cold_queries = len(queries)
    cold_total = 0.0
    for o in orders[1:21]:  # as after a catalog change: the loader's caches are empty
        warm_ruleset.loader_cache.clear()
        started = time.perf_counter()
        snapshot_load(o, ruleset=warm_ruleset)
        cold_total += time.perf_counter() - started
    cold_ms = cold_total / 20 * 1000
    snapshot_load(orders[0])
    with CaptureQueriesContext(connection) as queries:
        snapshot_load(orders[0])
    snapshot_queries = len(queries)

    def load_round() -> float:
        t = time.perf_counter()
        for o in orders:
            snapshot_load(o)
        return (time.perf_counter() - t) / len(orders) * 1000

    load_ms, _ = median_of(load_round, runs=3)
    snapshots = [snapshot_load(o) for o in orders]

    # Candidate rules per line: what the engine's index lookup returns for each line's product.
    rs = snapshots[0].ruleset
    per_line = [len(rs.line_candidates(snapshots[0].products[ln.sku])) for ln in orders[0].lines]

    # The engine is pure CPU: timed in this process's CPU seconds (one core), so that other load on
    # the machine does not count against it; the median of 7 rounds.
    def engine_round() -> float:
        t = time.process_time()
        for o, s in zip(orders, snapshots, strict=True):
            price(o, s)
        return ORDERS * LINES / (time.process_time() - t)

    engine_rate, _ = median_of(engine_round, runs=7)
    wall_started = time.perf_counter()
    for o, s in zip(orders, snapshots, strict=True):
        price(o, s)
    engine_wall_rate = ORDERS * LINES / (time.perf_counter() - wall_started)

    def explain_round() -> float:
        t = time.process_time()
        for o, s in zip(orders[:10], snapshots[:10], strict=True):
            price(o, s, explain=True)
        return 10 * LINES / (time.process_time() - t)

    explain_rate, _ = median_of(explain_round, runs=3)

    def end_to_end_round() -> float:
        t = time.perf_counter()
        for o in orders:
            price_quote(o)
        return ORDERS * LINES / (time.perf_counter() - t)

    def end_to_end_cpu_round() -> float:
        t = time.process_time()
        for o in orders:
            price_quote(o)
        return ORDERS * LINES / (time.process_time() - t)

    e2e_rate, _ = median_of(end_to_end_round, runs=5)
    e2e_cpu_rate, _ = median_of(end_to_end_cpu_round, runs=5)
    result = price(orders[0], snapshots[0])
    assert result.totals.total == sum(ln.total for ln in result.lines)
    return {
        "name": "pricing",
        "figures": {
            "engine, lines/s (100-line orders, 500 rules; CPU time)": round(engine_rate),
            "engine, lines/s (wall clock, one round)": round(engine_wall_rate),
            "engine with explain, lines/s": round(explain_rate),
            "snapshot load per order, ms (rule set and products cached)": round(load_ms, 2),
            "snapshot load, queries per order (cached)": snapshot_queries,
            "snapshot load per order, ms (products not cached yet)": round(cold_ms, 2),
            "snapshot load, queries per order (products not cached yet)": cold_queries,
            "end to end (load + price), lines/s (wall clock)": round(e2e_rate),
            "end to end (load + price), lines/s (this process's CPU time)": round(e2e_cpu_rate),
            "rule set reload (500 rules), ms": round(reload_ms, 1),
            "candidate rules per line, min": min(per_line),
            "candidate rules per line, mean": round(sum(per_line) / len(per_line), 1),
        },
        "unit": {},
        "notes": f"{ORDERS} orders x {LINES} lines over {PRODUCTS} products, tiers on every item, 1 in 5 "
        "priced from a EUR list; median of rounds; one process",
    }


if __name__ == "__main__":
    emit(run())

"""Price lists and tiers, segments and strategies, discount rules, a coupon, tax, shipping and
exchange rates."""

from __future__ import annotations

import random
from decimal import Decimal

from catalog.models import (
    Category,
    Product,
    ProductType,
    TaxClass,
)
from customers.models import (
    Customer,
    CustomerKind,
    DemandClass,
)
from oms.kernel.money import round_money
from partners.models import Channel
from pricing.models import (
    AdjustmentReason,
    ApplyOn,
    AssignmentLevel,
    BlockRounding,
    ChargeType,
    Combination,
    Coupon,
    DiscountRule,
    ExchangeRate,
    PriceList,
    PriceListItem,
    PriceListStatus,
    PriceTier,
    PricingPolicy,
    PricingSegment,
    PricingStrategy,
    RecurringPeriod,
    RuleAction,
    RuleLevel,
    SegmentMembership,
    ShippingRule,
    StrategyAssignment,
    StrategyPriceList,
    TaxRule,
    TierMode,
)
from pricing.snapshot import ruleset_version_bump

from .base import SEED, Context
from .customers import DEMO_USD_RATES

# --- pricing demo data ---
PRICING_REASONS = [("price-match", "Competitor price match"), ("damaged", "Damaged packaging"),
                   ("loyalty", "Loyalty gesture"), ("manager", "Manager discretion")]  # fmt: skip
PRICE_LISTS = [
    ("usd-list", "US dollar list", "USD"), ("eur-list", "Euro list", "EUR"),
    ("gbp-list", "Sterling list", "GBP"), ("jpy-list", "Yen list", "JPY"),
    ("contract-c10001", "Contract prices C-10001", "USD"),
]  # fmt: skip
PRICE_BANDS = {"hand-tools": (8, 60), "power-tools": (60, 400), "electrical": (5, 80), "lighting": (10, 150),
               "plumbing": (4, 90), "safety": (2, 40), "fasteners": (1, 20), "cleaning": (3, 35),
               "services": (25, 300)}  # fmt: skip
# Service nouns billed per period: (period, number of periods or None for until cancelled).
SERVICE_TERMS = {
    "Extended Warranty": (RecurringPeriod.YEAR, 3),
    "Tool Calibration": (RecurringPeriod.QUARTER, None),
}
SEGMENTS = [
    ("key-accounts", "Key accounts (assigned)", 10, {}),
    ("strategic", "Strategic accounts", 20, {"demand_class": DemandClass.STRATEGIC}),
    ("priority", "Priority accounts", 30, {"demand_class": DemandClass.PRIORITY}),
    ("consumers", "Storefront consumers", 40, {"customer_kind": CustomerKind.CONSUMER}),
]
STRATEGIES = [
    ("default", "Default pricing", ["usd-list", "eur-list", "gbp-list", "jpy-list"]),
    ("key-account", "Key account contract", ["contract-c10001"]),
    ("strategic", "Strategic accounts", []),
    ("priority", "Priority accounts", []),
    ("web", "Web storefront", []),
]
DISCOUNT_RULES = [
    {"code": "power-tools-10", "name": "Power tools 10% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("10"), "categories": ["power-tools"], "priority": 50},
    {"code": "fasteners-bulk-5", "name": "Fasteners: 5% off from 100 units", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("5"), "categories": ["fasteners"], "min_quantity": Decimal("100"),
     "apply_on": ApplyOn.LIST},
    {"code": "gloves-b10g1", "name": "Safety: buy 10 get 1 free", "action": RuleAction.BUY_X_GET_Y,
     "value": Decimal("100"), "buy_quantity": 10, "get_quantity": 1, "categories": ["safety"]},
    {"code": "lighting-best-pct", "name": "Lighting 12% off (best price)", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("12"), "categories": ["lighting"], "combination": Combination.BEST_PRICE},
    {"code": "lighting-best-amt", "name": "Lighting 5 USD off (best price)", "action": RuleAction.AMOUNT_OFF,
     "value": Decimal("5"), "currency": "USD", "categories": ["lighting"],
     "combination": Combination.BEST_PRICE},
    {"code": "strategic-8", "name": "Strategic accounts 8% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("8"), "strategy": "strategic", "priority": 10},
    {"code": "priority-4", "name": "Priority accounts 4% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("4"), "strategy": "priority", "priority": 10},
    {"code": "order-over-1000", "name": "2% off orders over 1,000 USD", "level": RuleLevel.ORDER,
     "action": RuleAction.PERCENT_OFF, "value": Decimal("2"), "currency": "USD",
     "min_order_amount": Decimal("1000")},
    {"code": "spring-coupon", "name": "Spring coupon 15% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("15"), "combination": Combination.EXCLUSIVE, "priority": 1},
]  # fmt: skip
# country, region, standard %, reduced % (exempt is 0)
TAX_RATES = [
    ("US", "IL", "6.25", "6.25"), ("US", "TX", "6.25", "6.25"), ("US", "NJ", "6.625", "6.625"),
    ("US", "CA", "7.25", "7.25"), ("US", "", "0", "0"),
    ("CA", "ON", "13", "13"), ("CA", "AB", "5", "5"), ("GB", "", "20", "5"), ("DE", "", "19", "7"),
    ("NL", "", "21", "9"), ("JP", "", "10", "8"), ("SG", "", "9", "9"), ("KW", "", "0", "0"),
]  # fmt: skip
# name, method, country ("" = anywhere), currency, flat, per kg, free over
SHIPPING = [
    ("US ground", "ground", "US", "USD", "7.95", "0.50", "500"),
    ("US express", "express", "US", "USD", "19.95", "1.20", None),
    ("EU ground", "ground", "DE", "EUR", "6.90", "0.40", "400"),
    ("NL ground", "ground", "NL", "EUR", "6.90", "0.40", "400"),
    ("International", "intl", "", "USD", "35.00", "4.00", None),
]  # fmt: skip


def pricing(ctx: Context, products: list[Product]) -> None:
    """Price lists (USD for all, EUR/GBP/JPY for a subset), tiers, segments and strategies, rules
    and a coupon, tax for the seeded countries, shipping, exchange rates. Idempotent."""
    rng = random.Random(SEED + 3)  # its own stream: adding pricing changes no earlier choice
    setup_before = _setup_rows()
    for code, name in PRICING_REASONS:
        AdjustmentReason.objects.get_or_create(code=code, defaults={"name": name})
    PricingPolicy.objects.get_or_create(pk=1, defaults={"max_manual_discount_percent": Decimal("20")})

    lists = {}
    for code, name, currency in PRICE_LISTS:
        lists[code], _ = PriceList.objects.get_or_create(
            code=code, defaults={"name": name, "currency": currency, "status": PriceListStatus.ACTIVE}
        )
    # USD list prices by category band; the other lists carry the first 60 products, converted.
    usd: dict[int, Decimal] = {}
    rows: list[PriceListItem] = []
    subset = products[:60]
    category_code = dict(Category.objects.values_list("id", "code"))
    for product in products:
        low, high = PRICE_BANDS.get(category_code[product.category_id], (5, 200))
        usd[product.pk] = Decimal(rng.randint(low * 100, high * 100)) / 100
        recurring = next((t for noun, t in SERVICE_TERMS.items() if noun in product.name), None)
        extra = {}
        if product.product_type == ProductType.SERVICE and recurring:
            extra = {"charge_type": ChargeType.RECURRING, "recurring_period": recurring[0],
                     "recurring_periods": recurring[1]}  # fmt: skip
        rows.append(PriceListItem(price_list=lists["usd-list"], product=product, uom_id=product.uom_id,
                                  unit_price=usd[product.pk], **extra))  # fmt: skip
        if product in subset:
            for code, currency in (("eur-list", "EUR"), ("gbp-list", "GBP"), ("jpy-list", "JPY")):
                rows.append(PriceListItem(
                    price_list=lists[code], product=product, uom_id=product.uom_id,
                    unit_price=round_money(usd[product.pk] * Decimal(DEMO_USD_RATES[currency]), currency),
                    **extra,
                ))  # fmt: skip
    before = PriceListItem.objects.count()
    PriceListItem.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    ctx.progress("price list items", len(rows), len(rows), PriceListItem.objects.count() - before)

    # Tiers on bulk goods (fasteners, safety) in the USD list: the three modes side by side.
    bulk = [p for p in products if category_code[p.category_id] in ("fasteners", "safety")][:12]
    items = {i.product_id: i for i in PriceListItem.objects.filter(price_list=lists["usd-list"],
                                                                   product__in=bulk)}  # fmt: skip
    tiers_created = 0
    for n, product in enumerate(bulk):
        item = items[product.pk]
        if item.tiers.exists():
            continue
        mode = [TierMode.ALL_UNITS, TierMode.GRADUATED, TierMode.BLOCK][n % 3]
        item.tier_mode = mode
        if mode == TierMode.BLOCK:
            item.block_size, item.block_rounding = Decimal(25), BlockRounding.UP
        item.save()
        base = item.unit_price * (25 if mode == TierMode.BLOCK else 1)
        bands = [(0, 50, Decimal(1)), (50, 250, Decimal("0.92")), (250, None, Decimal("0.85"))]
        for lower, upper, factor in bands:
            PriceTier.objects.create(item=item, lower=Decimal(lower), upper=upper and Decimal(upper),
                                     unit_price=round_money(base * factor, "USD"))  # fmt: skip
            tiers_created += 1
    ctx.progress("price tiers", len(bulk) * 3, len(bulk) * 3, tiers_created)

    # Who gets which prices.
    segments = {}
    for code, name, priority, criteria in SEGMENTS:
        segments[code], _ = PricingSegment.objects.get_or_create(
            code=code, defaults={"name": name, "priority": priority, **criteria}
        )
    key_account = Customer.objects.filter(account_number="C-10001").first()
    if key_account:
        SegmentMembership.objects.get_or_create(segment=segments["key-accounts"], customer=key_account)
    strategies = {}
    for code, name, list_codes in STRATEGIES:
        strategies[code], _ = PricingStrategy.objects.get_or_create(code=code, defaults={"name": name})
        for position, list_code in enumerate(list_codes, start=1):
            StrategyPriceList.objects.get_or_create(
                strategy=strategies[code], price_list=lists[list_code], defaults={"position": position}
            )
    # The key account's contract list: 20 products 15% under list.
    contract = lists["contract-c10001"]
    contract_before = PriceListItem.objects.filter(price_list=contract).count()
    PriceListItem.objects.bulk_create(
        [PriceListItem(price_list=contract, product=p, uom_id=p.uom_id,
                       unit_price=round_money(usd[p.pk] * Decimal("0.85"), "USD"))
         for p in products[100:120]],
        ignore_conflicts=True,
    )  # fmt: skip
    contract_items = PriceListItem.objects.filter(price_list=contract).count()
    ctx.progress("contract prices", contract_items, 20, contract_items - contract_before)
    web = Channel.objects.get(code="web")
    for strategy, level, target in (
        ("default", AssignmentLevel.DEFAULT, {}),
        ("strategic", AssignmentLevel.SEGMENT, {"segment": segments["strategic"]}),
        ("priority", AssignmentLevel.SEGMENT, {"segment": segments["priority"]}),
        ("key-account", AssignmentLevel.SEGMENT, {"segment": segments["key-accounts"]}),
        ("web", AssignmentLevel.CHANNEL, {"channel": web}),
    ):
        StrategyAssignment.objects.get_or_create(strategy=strategies[strategy], level=level, **target)

    categories = {c.code: c for c in Category.objects.all()}
    for spec in DISCOUNT_RULES:
        spec = dict(spec)
        conditions = {
            "categories": [categories[c] for c in spec.pop("categories", [])],
            "segments": [segments[s] for s in spec.pop("segments", [])],
        }
        strategy = spec.pop("strategy", None)
        rule, _ = DiscountRule.objects.get_or_create(code=spec.pop("code"), defaults=spec)
        for name, values in conditions.items():
            if values:
                getattr(rule, name).add(*values)
        if strategy:
            strategies[strategy].rules.add(rule)
    Coupon.objects.get_or_create(
        code="SPRING15",
        defaults={"rule": DiscountRule.objects.get(code="spring-coupon"), "max_uses": 100,
                  "max_uses_per_customer": 1},
    )  # fmt: skip

    tax_classes = {t.code: t for t in TaxClass.objects.all()}
    for country, region, standard, reduced in TAX_RATES:
        for klass, rate in (("standard", standard), ("reduced", reduced), ("exempt", "0")):
            where = f"{country}-{region}" if region else country
            TaxRule.objects.get_or_create(
                country=country, region=region, tax_class=tax_classes[klass], valid_from=None,
                defaults={"name": f"{where} {klass}", "rate": Decimal(rate)},
            )  # fmt: skip
    for name, method, country, currency, flat, per_kg, free_over in SHIPPING:
        ShippingRule.objects.get_or_create(
            name=name, ship_method=method,
            defaults={"country": country, "currency": currency, "flat_amount": Decimal(flat),
                      "per_kg_amount": Decimal(per_kg),
                      "free_over_amount": Decimal(free_over) if free_over else None},
        )  # fmt: skip
    for valid_on, drift in (("2024-01-01", Decimal("0.98")), ("2026-01-01", Decimal(1))):
        for currency, rate in DEMO_USD_RATES.items():
            if currency != "USD":
                ExchangeRate.objects.get_or_create(
                    base="USD", quote=currency, valid_on=valid_on,
                    defaults={"rate": (Decimal(rate) * drift).quantize(Decimal("0.000001"))},
                )  # fmt: skip
    ruleset_version_bump()  # the bulk inserts sent no signals
    rows = _setup_rows()
    ctx.progress("pricing setup", rows, rows, rows - setup_before)
    ctx.write("    lists, reasons, segments, strategies, rules, coupon, tax, shipping, exchange rates")


SETUP_MODELS = (
    AdjustmentReason, PricingPolicy, PriceList, PricingSegment, SegmentMembership, PricingStrategy,
    StrategyPriceList, StrategyAssignment, DiscountRule, Coupon, TaxRule, ShippingRule, ExchangeRate,
)  # fmt: skip


def _setup_rows() -> int:
    """Rows of the pricing set-up (everything but list prices and tiers, counted on their own)."""
    return sum(model.objects.count() for model in SETUP_MODELS)

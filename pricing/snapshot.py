"""Loading the engine's world from the database: the cached rule set and the per-order snapshot.

The rule set (lists, strategies, assignments, segments, rules, tax, shipping, rates, policy) is
cached per process, keyed by `PricingRulesetVersion` (version + a random token, so a rolled-back
change can never leave a stale cache under a reused number). Every pricing call reads that one row
(1 query) and reloads the rule set when it changed (a fixed number of queries). The per-order part
(customer, channel, products, items and tiers, unit conversions, coupons) is then loaded in a fixed
number of queries whatever the number of lines.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from catalog.models import Category, Product, UomConversion
from customers.models import Customer, CustomerSite, SitePurpose
from oms.kernel.exceptions import ValidationFailed
from partners.models import Channel

from .engine.snapshot import (
    AssignmentFacts,
    ChannelFacts,
    CouponFacts,
    CustomerFacts,
    ItemFacts,
    PolicyFacts,
    PriceListFacts,
    PricingSnapshot,
    ProductFacts,
    RateFacts,
    RuleFacts,
    RuleSet,
    SegmentFacts,
    ShippingRuleFacts,
    StrategyFacts,
    TaxRuleFacts,
    TierFacts,
)
from .engine.types import PriceRequest
from .models import (
    AdjustmentReason,
    Coupon,
    CouponRedemption,
    DiscountRule,
    ExchangeRate,
    PriceList,
    PriceListItem,
    PriceListStatus,
    PriceTier,
    PricingPolicy,
    PricingRulesetVersion,
    PricingSegment,
    PricingStrategy,
    SegmentMembership,
    ShippingRule,
    StrategyAssignment,
    StrategyPriceList,
    TaxRule,
)

# --- the version ------------------------------------------------------------------------------


def ruleset_version_read() -> tuple[int, str]:
    row = PricingRulesetVersion.objects.filter(pk=1).values_list("version", "token").first()
    return (row[0], row[1]) if row else (0, "")


def ruleset_version_bump() -> None:
    """+1 in one UPDATE (no read-modify-write); creates the row the first time."""
    token = uuid.uuid4().hex
    if PricingRulesetVersion.objects.filter(pk=1).update(version=F("version") + 1, token=token):
        return
    try:
        with transaction.atomic():
            PricingRulesetVersion.objects.create(pk=1, version=1, token=token)
    except IntegrityError:  # created by someone else meanwhile
        PricingRulesetVersion.objects.filter(pk=1).update(version=F("version") + 1, token=token)


# --- the cached rule set ----------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, object] = {"key": None, "ruleset": None}


def ruleset_cache_clear() -> None:
    with _lock:
        _cache["key"], _cache["ruleset"] = None, None


def ruleset_current() -> RuleSet:
    """The active rule set: 1 query when unchanged, a reload when another process changed it."""
    key = ruleset_version_read()
    if _cache["key"] == key:
        return _cache["ruleset"]
    with _lock:
        if _cache["key"] != key:
            _cache["ruleset"] = ruleset_load(version=key[0])
            _cache["key"] = key
        return _cache["ruleset"]


def _by(pairs, key_index: int = 0, value_index: int = 1) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for row in pairs:
        out[row[key_index]].add(row[value_index])
    return out


def ruleset_load(*, version: int = 0) -> RuleSet:
    """Every active rule of the rule set, in a fixed number of queries (19)."""
    lists = [
        PriceListFacts(
            id=r["id"],
            code=r["code"],
            currency=r["currency"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
        )
        for r in PriceList.objects.filter(status=PriceListStatus.ACTIVE).values(
            "id", "code", "currency", "valid_from", "valid_to"
        )
    ]
    list_ids: dict[int, list[int]] = defaultdict(list)
    for sid, lid in StrategyPriceList.objects.order_by("strategy_id", "position", "id").values_list(
        "strategy_id", "price_list_id"
    ):
        list_ids[sid].append(lid)
    through = PricingStrategy.rules.through
    strategy_rules = _by(through.objects.values_list("pricingstrategy_id", "discountrule_id"))
    strategies = [
        StrategyFacts(
            id=r["id"],
            code=r["code"],
            list_ids=tuple(list_ids.get(r["id"], ())),
            rule_ids=frozenset(strategy_rules.get(r["id"], ())),
            list_selection=r["list_selection"],
        )
        for r in PricingStrategy.objects.filter(active=True).values("id", "code", "list_selection")
    ]
    assignments = [
        AssignmentFacts(**r)
        for r in StrategyAssignment.objects.values(
            "id", "strategy_id", "level", "customer_id", "segment_id", "channel_id", "valid_from", "valid_to"
        )
    ]
    segments = [
        SegmentFacts(**r)
        for r in PricingSegment.objects.filter(active=True).values(
            "id",
            "code",
            "priority",
            "demand_class",
            "customer_kind",
            "channel_id",
            "country",
            "min_credit_limit",
            "max_credit_limit",
        )
    ]
    m2m: dict[str, dict[int, set[int]]] = {}
    for name in ("products", "categories", "brands", "customers", "segments", "channels"):
        field = DiscountRule._meta.get_field(name)
        through = field.remote_field.through
        target = f"{field.m2m_reverse_field_name()}_id"
        m2m[name] = _by(
            through.objects.filter(discountrule__active=True).values_list("discountrule_id", target)
        )
    gated = set(Coupon.objects.values_list("rule_id", flat=True).distinct())
    rules = []
    for r in DiscountRule.objects.filter(active=True).values(
        "id",
        "code",
        "name",
        "priority",
        "level",
        "action",
        "value",
        "currency",
        "buy_quantity",
        "get_quantity",
        "apply_on",
        "combination",
        "min_quantity",
        "min_order_quantity",
        "min_order_amount",
        "valid_from",
        "valid_to",
    ):
        rid = r["id"]
        rules.append(
            RuleFacts(
                **r,
                product_ids=frozenset(m2m["products"].get(rid, ())),
                category_ids=frozenset(m2m["categories"].get(rid, ())),
                brand_ids=frozenset(m2m["brands"].get(rid, ())),
                customer_ids=frozenset(m2m["customers"].get(rid, ())),
                segment_ids=frozenset(m2m["segments"].get(rid, ())),
                channel_ids=frozenset(m2m["channels"].get(rid, ())),
                coupon_gated=rid in gated,
            )
        )
    tax_rules = [
        TaxRuleFacts(**r)
        for r in TaxRule.objects.values(
            "id", "name", "country", "region", "tax_class_id", "rate", "valid_from", "valid_to"
        )
    ]
    shipping_rules = [
        ShippingRuleFacts(**r)
        for r in ShippingRule.objects.filter(active=True).values(
            "id",
            "name",
            "ship_method",
            "currency",
            "country",
            "region",
            "min_weight_kg",
            "max_weight_kg",
            "min_order_amount",
            "max_order_amount",
            "flat_amount",
            "per_kg_amount",
            "free_over_amount",
            "taxable",
            "priority",
            "valid_from",
            "valid_to",
        )
    ]
    rates = [RateFacts(**r) for r in ExchangeRate.objects.values("base", "quote", "rate", "valid_on")]
    policy_row = PricingPolicy.objects.filter(pk=1).values("max_manual_discount_percent").first()
    policy = PolicyFacts(**policy_row) if policy_row else PolicyFacts()
    reasons = AdjustmentReason.objects.filter(active=True).values_list("code", flat=True)
    return RuleSet(
        version=version,
        price_lists=lists,
        strategies=strategies,
        assignments=assignments,
        segments=segments,
        rules=rules,
        tax_rules=tax_rules,
        shipping_rules=shipping_rules,
        rates=rates,
        policy=policy,
        reason_codes=list(reasons),
    )


# --- the per-order snapshot -------------------------------------------------------------------


def _primary_site(purposes: list[str], field: str) -> Subquery:
    return Subquery(
        CustomerSite.objects.filter(customer=OuterRef("pk"), active=True, purpose__in=purposes)
        .order_by("-is_primary", "pk")
        .values(field)[:1]
    )


def _customer(account: str) -> CustomerFacts:
    ship = [SitePurpose.SHIP_TO, SitePurpose.BOTH]
    row = (
        Customer.objects.filter(account_number=account.strip().upper())
        .annotate(
            bill_country=_primary_site([SitePurpose.BILL_TO, SitePurpose.BOTH], "country"),
            ship_country=_primary_site(ship, "country"),
            ship_region=_primary_site(ship, "region"),
            ship_postcode=_primary_site(ship, "postcode"),
        )
        .values(
            "id",
            "account_number",
            "kind",
            "demand_class",
            "tax_exempt",
            "credit_limit",
            "bill_country",
            "ship_country",
            "ship_region",
            "ship_postcode",
        )
        .first()
    )
    if row is None:
        raise ValidationFailed("Unknown customer.", fields={"customer": [f"No customer '{account}'."]})
    segments = frozenset(
        SegmentMembership.objects.filter(customer_id=row["id"]).values_list("segment_id", flat=True)
    )
    return CustomerFacts(
        id=row["id"],
        account_number=row["account_number"],
        kind=row["kind"],
        demand_class=row["demand_class"],
        tax_exempt=row["tax_exempt"],
        credit_limit=row["credit_limit"],
        country=row["bill_country"] or row["ship_country"] or "",
        ship_country=row["ship_country"] or row["bill_country"] or "",
        ship_region=row["ship_region"] or "",
        ship_postcode=row["ship_postcode"] or "",
        segment_ids=segments,
    )


def _channel(code: str) -> ChannelFacts:
    row = Channel.objects.filter(code=code).values("id", "code", "trusted_prices", "active").first()
    if row is None or not row["active"]:
        raise ValidationFailed("Unknown channel.", fields={"channel": [f"No active channel '{code}'."]})
    return ChannelFacts(id=row["id"], code=row["code"], trusted_prices=row["trusted_prices"])


def _category_paths() -> dict[int, frozenset[int]]:
    parents = dict(Category.objects.values_list("id", "parent_id"))
    paths: dict[int, frozenset[int]] = {}
    for cid in parents:
        path, node = [], cid
        while node is not None and node not in path:
            path.append(node)
            node = parents.get(node)
        paths[cid] = frozenset(path)
    return paths


def snapshot_load(request: PriceRequest, *, ruleset: RuleSet | None = None) -> PricingSnapshot:
    """Everything `price()` needs for this order, in a fixed number of queries (not per line).

    Queries: rule set version (1, plus a reload when it changed), channel (1), customer with its
    sites (1) and segment memberships (1), products (1), categories (1), unit conversions (1),
    price list items (1), tiers (1), and with coupon codes: coupons (1) and the customer's uses (1).
    """
    rs = ruleset or ruleset_current()
    on: date = request.pricing_date or timezone.localdate()
    channel = _channel(request.channel_code) if request.channel_code else None
    customer = _customer(request.customer_account) if request.customer_account else None

    skus = sorted({line.sku.strip().upper() for line in request.lines})
    rows = list(
        Product.objects.filter(sku__in=skus).values(
            "id",
            "sku",
            "category_id",
            "brand_id",
            "tax_class_id",
            "uom__code",
            "product_type",
            "weight_kg",
            "active",
        )
    )
    paths = _category_paths()
    products = {
        r["sku"].upper(): ProductFacts(
            id=r["id"],
            sku=r["sku"],
            category_id=r["category_id"],
            brand_id=r["brand_id"],
            tax_class_id=r["tax_class_id"],
            base_uom=r["uom__code"],
            product_type=r["product_type"],
            weight_kg=r["weight_kg"],
            active=r["active"],
            category_path=paths.get(r["category_id"], frozenset({r["category_id"]})),
        )
        for r in rows
    }
    ids = [p.id for p in products.values()]
    conversions = {
        (pid, src, dst): factor
        for pid, src, dst, factor in UomConversion.objects.filter(
            Q(product__isnull=True) | Q(product_id__in=ids)
        ).values_list("product_id", "from_uom__code", "to_uom__code", "factor")
    }
    list_ids = list(rs.price_lists)
    tiers: dict[int, list[TierFacts]] = defaultdict(list)
    for item_id, lower, upper, unit_price in (
        PriceTier.objects.filter(item__product_id__in=ids, item__price_list_id__in=list_ids)
        .order_by("item_id", "lower")
        .values_list("item_id", "lower", "upper", "unit_price")
    ):
        tiers[item_id].append(TierFacts(lower, upper, unit_price))
    items: dict[int, list[ItemFacts]] = defaultdict(list)
    for r in PriceListItem.objects.filter(product_id__in=ids, price_list_id__in=list_ids).values(
        "id",
        "price_list_id",
        "product_id",
        "uom__code",
        "unit_price",
        "tier_basis",
        "tier_mode",
        "block_size",
        "block_rounding",
        "charge_type",
        "recurring_period",
        "recurring_periods",
    ):
        uom = r.pop("uom__code")
        items[r["product_id"]].append(ItemFacts(**r, uom=uom, tiers=tuple(tiers.get(r["id"], ()))))

    coupons: dict[str, CouponFacts] = {}
    codes = sorted({c.strip().upper() for c in request.coupon_codes if c and c.strip()})
    if codes:
        uses: dict[int, int] = {}
        if customer is not None:
            uses = dict(
                CouponRedemption.objects.filter(coupon__code__in=codes, customer_id=customer.id)
                .values("coupon_id")
                .annotate(n=Count("id"))
                .values_list("coupon_id", "n")
            )
        for r in Coupon.objects.filter(code__in=codes).values(
            "id",
            "code",
            "rule_id",
            "active",
            "max_uses",
            "max_uses_per_customer",
            "times_used",
            "valid_from",
            "valid_to",
        ):
            coupons[r["code"]] = CouponFacts(**r, customer_uses=uses.get(r["id"], 0))
    return PricingSnapshot(
        ruleset=rs,
        pricing_date=on,
        products=products,
        items={pid: tuple(v) for pid, v in items.items()},
        conversions=conversions,
        customer=customer,
        channel=channel,
        coupons=coupons,
    )

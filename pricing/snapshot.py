"""Loading the engine's world from the database: the cached rule set and the per-order snapshot.

The rule set (lists, strategies, assignments, segments, rules, tax, shipping, rates, policy) is
cached per process, keyed by `PricingRulesetVersion` (version + a random token, so a rolled-back
change can never leave a stale cache under a reused number). Every pricing call reads that one row
(1 query) and reloads the rule set when it changed (a fixed number of queries). The per-order part
(customer, channel, products, items and tiers, unit conversions, coupons) is then loaded in a fixed
number of queries whatever the number of lines.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from catalog.models import Category, Product, UomConversion
from customers.models import Customer, CustomerSite, SitePurpose
from oms.kernel import refcache
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


@functools.cache
def _version_sql() -> str:
    quote, meta = connection.ops.quote_name, PricingRulesetVersion._meta
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("version", "token"))
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = 1"  # noqa: S608 (model names)


REFDATA_NAME = "pricing.ruleset"


def ruleset_version_read() -> tuple[int, str]:
    """The current (version, token): SQL from the model's names, since every pricing call runs it
    and the ORM's compilation cost three times the database's answer. Inside a reference-data
    scope (a web request, a task) the row comes with the scope's one read of every version."""
    scoped = refcache.version_of(REFDATA_NAME)
    if scoped is not None:
        return scoped
    with connection.cursor() as cursor:
        cursor.execute(_version_sql())
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (0, "")


def ruleset_version_bump() -> None:
    """+1 in one UPDATE (no read-modify-write); creates the row the first time."""
    refcache.scope_forget()  # this scope's next call sees its own change
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
#
# What a snapshot needs from the catalog (products, their category paths, unit conversions, price
# list items and tiers) and the channels and segment memberships change far less often than orders
# arrive, and every change to them bumps the rule set version (signals.py). So they are cached
# with the rule set they belong to, in `RuleSet.loader_cache`: a product is read from the database
# the first time an order of this version names it, and never again until the version changes.
# What is not cached is what changes between orders: the customer (credit limit, sites, kind),
# the coupons and their uses.

_PRODUCT_CACHE_LIMIT = 100_000  # products kept per process (a bigger catalog rereads the tail)


def _primary_site(sites: list[tuple], purposes: tuple[str, ...]) -> tuple | None:
    for site in sites:  # (id, is_primary, purpose, country, region, postcode), primary first
        if site[2] in purposes:
            return site
    return None


def _columns(model, *names: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(n).column)}" for n in names)


@functools.cache
def _customer_sql() -> str:
    """The customer by account number with its active sites, a row per site (or one without).

    Written as SQL (from the models' table and column names) because the ORM spent about 4 times
    the database's time compiling this one statement, and it runs on every priced order.
    """
    quote = connection.ops.quote_name
    customer, site = quote(Customer._meta.db_table), quote(CustomerSite._meta.db_table)
    site_customer = quote(CustomerSite._meta.get_field("customer").column)
    site_active = quote(CustomerSite._meta.get_field("active").column)
    customer_columns = _columns(
        Customer, "id", "account_number", "kind", "demand_class", "tax_exempt", "credit_limit"
    )
    site_columns = _columns(CustomerSite, "id", "is_primary", "purpose", "country", "region", "postcode")
    account_number = quote(Customer._meta.get_field("account_number").column)
    join = f"{site}.{site_customer} = {customer}.{quote('id')} AND {site}.{site_active} = %s"
    return f"SELECT {customer_columns}, {site_columns} FROM {customer} LEFT OUTER JOIN {site} ON ({join}) WHERE {customer}.{account_number} = %s"  # noqa: S608, E501 (quoted model names; values are parameters)


_CREDIT_PLACES = Decimal(1).scaleb(-Customer._meta.get_field("credit_limit").decimal_places)


def _customer(rs: RuleSet, account: str) -> CustomerFacts:
    """The customer and its primary sites in one query (segment memberships come from the cache)."""
    with connection.cursor() as cursor:
        cursor.execute(_customer_sql(), [True, account.strip().upper()])
        rows = cursor.fetchall()
    if not rows:
        raise ValidationFailed("Unknown customer.", fields={"customer": [f"No customer '{account}'."]})
    cid, number, kind, demand_class, tax_exempt, credit_limit = rows[0][:6]
    if not isinstance(credit_limit, Decimal):  # SQLite hands numerics back as int or float
        credit_limit = Decimal(str(credit_limit)).quantize(_CREDIT_PLACES)
    sites = [r[6:] for r in rows if r[6] is not None]
    return _customer_facts(rs, (cid, number, kind, demand_class, bool(tax_exempt), credit_limit), sites)


def _customer_facts(rs: RuleSet, customer: tuple, sites: list[tuple]) -> CustomerFacts:
    """`customer` is (id, account, kind, demand class, tax exempt, credit limit); `sites` are its
    active sites as (id, is_primary, purpose, country, region, postcode)."""
    cid, number, kind, demand_class, tax_exempt, credit_limit = customer
    # (not primary, id): primary sites first, then the oldest -- the customers app's own ordering.
    sites = sorted(sites, key=lambda r: (not r[1], r[0]))
    bill = _primary_site(sites, (SitePurpose.BILL_TO, SitePurpose.BOTH))
    ship = _primary_site(sites, (SitePurpose.SHIP_TO, SitePurpose.BOTH))
    bill_country = bill[3] if bill else ""
    ship_country = ship[3] if ship else ""
    return CustomerFacts(
        id=cid,
        account_number=number,
        kind=kind,
        demand_class=demand_class,
        tax_exempt=tax_exempt,
        credit_limit=credit_limit,
        country=bill_country or ship_country,
        ship_country=ship_country or bill_country,
        ship_region=(ship[4] if ship else "") or "",
        ship_postcode=(ship[5] if ship else "") or "",
        segment_ids=_memberships(rs).get(cid, frozenset()),
    )


def customer_facts_of(rs: RuleSet, customer: Customer, active_sites: list[CustomerSite]) -> CustomerFacts:
    """Pricing's view of a customer the caller has already read, with all its active sites (order
    capture has both in hand; this saves pricing reading them again)."""
    return _customer_facts(
        rs,
        (
            customer.pk,
            customer.account_number,
            customer.kind,
            customer.demand_class,
            customer.tax_exempt,
            customer.credit_limit,
        ),
        [(s.pk, s.is_primary, s.purpose, s.country, s.region, s.postcode) for s in active_sites],
    )


def _memberships(rs: RuleSet) -> dict[int, frozenset[int]]:
    cache = rs.loader_cache
    found = cache.get("memberships")
    if found is None:
        found = {
            cid: frozenset(segs)
            for cid, segs in _by(SegmentMembership.objects.values_list("customer_id", "segment_id")).items()
        }
        cache["memberships"] = found
    return found


def _channel(rs: RuleSet, code: str) -> ChannelFacts:
    channels = rs.loader_cache.setdefault("channels", {})
    facts = channels.get(code)
    if facts is None:
        row = Channel.objects.filter(code=code).values("id", "code", "trusted_prices", "active").first()
        if row is None or not row["active"]:  # not cached: a channel created later is found then
            raise ValidationFailed("Unknown channel.", fields={"channel": [f"No active channel '{code}'."]})
        facts = ChannelFacts(id=row["id"], code=row["code"], trusted_prices=row["trusted_prices"])
        channels[code] = facts
    return facts


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


def _catalog_fill(rs: RuleSet, skus: list[str]) -> None:
    """Read the products named (and their conversions, items and tiers) into the cache: a fixed
    number of queries whatever their number. SKUs that do not exist are not remembered."""
    cache = rs.loader_cache
    products: dict[str, tuple] = cache.setdefault("products", {})
    if len(products) + len(skus) > _PRODUCT_CACHE_LIMIT:
        products.clear()
    paths = cache.get("category_paths")
    if paths is None:
        paths = cache["category_paths"] = _category_paths()
    if "conversions" not in cache:  # the ones that hold for every product
        cache["conversions"] = {
            (None, src, dst): factor
            for src, dst, factor in UomConversion.objects.filter(product__isnull=True).values_list(
                "from_uom__code", "to_uom__code", "factor"
            )
        }
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
    if not rows:
        return
    ids = [r["id"] for r in rows]
    conversions: dict[int, dict] = defaultdict(dict)
    for pid, src, dst, factor in UomConversion.objects.filter(product_id__in=ids).values_list(
        "product_id", "from_uom__code", "to_uom__code", "factor"
    ):
        conversions[pid][(pid, src, dst)] = factor
    list_ids = list(rs.price_lists)
    tiers: dict[int, list[TierFacts]] = defaultdict(list)
    for item_id, lower, upper, unit_price in (
        PriceTier.objects.filter(item__product_id__in=ids, item__price_list_id__in=list_ids)
        .order_by("item_id", "lower")
        .values_list("item_id", "lower", "upper", "unit_price")
    ):
        tiers[item_id].append(TierFacts(lower, upper, unit_price))
    items: dict[int, list[ItemFacts]] = defaultdict(list)
    for r in (
        PriceListItem.objects.filter(product_id__in=ids, price_list_id__in=list_ids)
        .order_by("id")
        .values(
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
        )
    ):
        uom = r.pop("uom__code")
        items[r["product_id"]].append(ItemFacts(**r, uom=uom, tiers=tuple(tiers.get(r["id"], ()))))
    for r in rows:
        facts = ProductFacts(
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
        products[r["sku"].upper()] = (facts, tuple(items.get(r["id"], ())), conversions.get(r["id"], {}))


def snapshot_load(
    request: PriceRequest,
    *,
    ruleset: RuleSet | None = None,
    customer: tuple[Customer, list[CustomerSite]] | None = None,
) -> PricingSnapshot:
    """Everything `price()` needs for this order, in a fixed number of queries (not per line).

    Queries with the rule set and the order's products cached (the steady state): the rule set
    version (1), the customer with its sites (1), and with coupon codes the coupons (1) and the
    customer's uses (1). Products not cached yet cost a fixed 4 more (products, conversions, items,
    tiers), a channel or the memberships once per version 1 more; a changed version reloads the
    rule set (see `ruleset_load`). A caller that has read the customer and all its active sites
    already passes them as `customer` (no customer query then).
    """
    rs = ruleset or ruleset_current()
    on: date = request.pricing_date or timezone.localdate()
    channel = _channel(rs, request.channel_code) if request.channel_code else None
    given, customer = customer, None
    if request.customer_account:
        if given is not None and given[0].account_number == request.customer_account.strip().upper():
            customer = customer_facts_of(rs, *given)
        else:
            customer = _customer(rs, request.customer_account)

    cached: dict[str, tuple] = rs.loader_cache.setdefault("products", {})
    skus = {line.sku.strip().upper() for line in request.lines}
    missing = [sku for sku in skus if sku not in cached]
    if missing:
        _catalog_fill(rs, sorted(missing))
        cached = rs.loader_cache["products"]
    products: dict[str, ProductFacts] = {}
    items: dict[int, tuple[ItemFacts, ...]] = {}
    conversions = rs.loader_cache.get("conversions", {})
    own_conversions = False
    for sku in skus:
        entry = cached.get(sku)
        if entry is None:
            continue  # unknown SKU: the engine names the line
        facts, product_items, product_conversions = entry
        products[sku] = facts
        if product_items:
            items[facts.id] = product_items
        if product_conversions:
            if not own_conversions:  # copy the shared dict only when this order adds to it
                conversions, own_conversions = dict(conversions), True
            conversions.update(product_conversions)

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
        items=items,
        conversions=conversions,
        customer=customer,
        channel=channel,
        coupons=coupons,
    )

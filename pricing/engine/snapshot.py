"""The engine's input world: plain frozen facts, no ORM objects.

`RuleSet` is what a process caches (keyed by the rule set version): lists, strategies and their
assignments, segments, discount rules (indexed by product, category and brand), tax and shipping
rules, exchange rates, the guardrail. `PricingSnapshot` adds what one order needs: the customer,
the channel, the products, their price list items and tiers, unit conversions and coupons.
Both are built by `pricing.snapshot.snapshot_load` from the database, or by hand in tests.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from .types import FxUse

ZERO = Decimal(0)


def in_dates(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


@dataclass(frozen=True, slots=True)
class PriceListFacts:
    id: int
    code: str
    currency: str
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class TierFacts:
    lower: Decimal
    upper: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class ItemFacts:
    id: int
    price_list_id: int
    product_id: int
    uom: str
    unit_price: Decimal
    tier_basis: str = "quantity"
    tier_mode: str = "all_units"
    block_size: Decimal | None = None
    block_rounding: str = "up"
    charge_type: str = "one_time"
    recurring_period: str = ""
    recurring_periods: int | None = None
    tiers: tuple[TierFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class StrategyFacts:
    id: int
    code: str
    list_ids: tuple[int, ...] = ()  # in position order
    rule_ids: frozenset[int] = frozenset()
    list_selection: str = "first"


@dataclass(frozen=True, slots=True)
class AssignmentFacts:
    id: int
    strategy_id: int
    level: str  # customer | segment | channel | default
    customer_id: int | None = None
    segment_id: int | None = None
    channel_id: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class SegmentFacts:
    id: int
    code: str
    priority: int = 100
    demand_class: str = ""
    customer_kind: str = ""
    channel_id: int | None = None
    country: str = ""
    min_credit_limit: Decimal | None = None
    max_credit_limit: Decimal | None = None

    @property
    def has_criteria(self) -> bool:
        return bool(
            self.demand_class
            or self.customer_kind
            or self.channel_id
            or self.country
            or self.min_credit_limit is not None
            or self.max_credit_limit is not None
        )


@dataclass(frozen=True, slots=True)
class RuleFacts:
    id: int
    code: str
    action: str  # percent_off | amount_off | price_override | markup | buy_x_get_y
    value: Decimal
    name: str = ""
    priority: int = 100
    level: str = "line"  # line | order
    currency: str = ""
    buy_quantity: int | None = None
    get_quantity: int | None = None
    apply_on: str = "net"  # net (cascade) | list (accumulate)
    combination: str = "stackable"  # stackable | exclusive | best_price
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    brand_ids: frozenset[int] = frozenset()
    customer_ids: frozenset[int] = frozenset()
    segment_ids: frozenset[int] = frozenset()
    channel_ids: frozenset[int] = frozenset()
    min_quantity: Decimal | None = None
    min_order_quantity: Decimal | None = None
    min_order_amount: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    coupon_gated: bool = False
    # Derived once (the engine's hot loop reads them): value / 100, and how many product dimensions
    # (products, categories, brands) the rule names -- with one, the index lookup already matched it.
    factor: Decimal = field(init=False, repr=False, compare=False)
    dims: int = field(init=False, repr=False, compare=False)
    detail: Mapping[str, object] = field(init=False, repr=False, compare=False)  # read-only, shared
    label: str = field(init=False, repr=False, compare=False)
    # A plain percent (or markup) with at most a line minimum to check: the engine's fast path.
    simple: bool = field(init=False, repr=False, compare=False)
    signed_factor: Decimal = field(init=False, repr=False, compare=False)  # negative for a markup
    kind: str = field(init=False, repr=False, compare=False)  # the component kind: discount | markup
    on_list: bool = field(init=False, repr=False, compare=False)  # apply_on == "list"
    simple_amount: bool = field(init=False, repr=False, compare=False)  # the same for an amount off

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", self.value / 100)
        object.__setattr__(
            self, "dims", bool(self.product_ids) + bool(self.category_ids) + bool(self.brand_ids)
        )
        detail = {
            "action": self.action,
            "value": self.value,
            "apply_on": self.apply_on,
            "combination": self.combination,
        }
        object.__setattr__(self, "detail", MappingProxyType(detail))
        object.__setattr__(self, "label", self.name or self.code)
        simple = (  # a line minimum is checked inline by the hot loop
            self.action in ("percent_off", "markup")
            and self.dims <= 1
            and self.min_order_quantity is None
            and self.min_order_amount is None
        )
        object.__setattr__(self, "simple", simple)
        object.__setattr__(self, "signed_factor", -self.factor if self.action == "markup" else self.factor)
        object.__setattr__(self, "kind", "markup" if self.action == "markup" else "discount")
        object.__setattr__(self, "on_list", self.apply_on == "list")
        object.__setattr__(
            self,
            "simple_amount",
            self.action == "amount_off"
            and self.dims <= 1
            and self.min_order_quantity is None
            and self.min_order_amount is None,
        )


@dataclass(frozen=True, slots=True)
class TaxRuleFacts:
    id: int
    name: str
    country: str
    region: str
    tax_class_id: int
    rate: Decimal
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class ShippingRuleFacts:
    id: int
    name: str
    ship_method: str
    currency: str
    country: str = ""
    region: str = ""
    min_weight_kg: Decimal = ZERO
    max_weight_kg: Decimal | None = None
    min_order_amount: Decimal = ZERO
    max_order_amount: Decimal | None = None
    flat_amount: Decimal = ZERO
    per_kg_amount: Decimal = ZERO
    free_over_amount: Decimal | None = None
    taxable: bool = False
    priority: int = 100
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class RateFacts:
    base: str
    quote: str
    rate: Decimal
    valid_on: date


class RateTable:
    """Dated rates per pair; the rate for a date is the latest on or before it."""

    def __init__(self, rates: Iterable[RateFacts]):
        pairs: dict[tuple[str, str], list[RateFacts]] = {}
        for r in rates:
            pairs.setdefault((r.base, r.quote), []).append(r)
        self._pairs = {k: sorted(v, key=lambda r: r.valid_on) for k, v in pairs.items()}
        self._dates = {k: [r.valid_on for r in v] for k, v in self._pairs.items()}

    def _latest(self, base: str, quote: str, on: date) -> RateFacts | None:
        dates = self._dates.get((base, quote))
        if not dates:
            return None
        i = bisect.bisect_right(dates, on)
        return self._pairs[(base, quote)][i - 1] if i else None

    def lookup(self, base: str, quote: str, on: date) -> FxUse | None:
        """The direct pair's latest rate; else the reciprocal of the reverse pair's; else None."""
        if base == quote:
            return FxUse(base, quote, Decimal(1), on)
        direct = self._latest(base, quote, on)
        if direct is not None:
            return FxUse(base, quote, direct.rate, direct.valid_on)
        reverse = self._latest(quote, base, on)
        if reverse is not None:
            return FxUse(base, quote, Decimal(1) / reverse.rate, reverse.valid_on, inverted=True)
        return None


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    max_manual_discount_percent: Decimal = Decimal(20)


class RuleSet:
    """The cached, immutable rule set of one version, with its indexes. Build once, read often."""

    def __init__(
        self,
        *,
        version: int = 0,
        price_lists: Iterable[PriceListFacts] = (),
        strategies: Iterable[StrategyFacts] = (),
        assignments: Iterable[AssignmentFacts] = (),
        segments: Iterable[SegmentFacts] = (),
        rules: Iterable[RuleFacts] = (),
        tax_rules: Iterable[TaxRuleFacts] = (),
        shipping_rules: Iterable[ShippingRuleFacts] = (),
        rates: Iterable[RateFacts] = (),
        policy: PolicyFacts | None = None,
        reason_codes: Iterable[str] = (),
        ship_methods: Iterable[str] | None = None,
    ):
        self.version = version
        self.price_lists = {p.id: p for p in price_lists}
        self.strategies = {s.id: s for s in strategies}
        self.assignments = tuple(assignments)
        self.segments = tuple(sorted(segments, key=lambda s: (s.priority, s.id)))
        self.rules = {r.id: r for r in rules}
        self.tax_rules = tuple(tax_rules)
        self.shipping_rules = tuple(shipping_rules)
        self.rates = RateTable(rates)
        self.policy = policy or PolicyFacts()
        self.reason_codes = frozenset(reason_codes)
        self.ship_methods = (
            frozenset(ship_methods)
            if ship_methods is not None
            else frozenset(s.ship_method for s in self.shipping_rules)
        )
        # Rules that belong to some strategy apply only through it; the others are global.
        in_strategy: set[int] = set()
        for s in self.strategies.values():
            in_strategy |= s.rule_ids
        self.rules_in_strategies = frozenset(in_strategy)
        # Index line rules by their most selective product dimension (the rest is checked per line).
        self.rules_by_product: dict[int, list[RuleFacts]] = {}
        self.rules_by_category: dict[int, list[RuleFacts]] = {}
        self.rules_by_brand: dict[int, list[RuleFacts]] = {}
        self.rules_any_product: list[RuleFacts] = []
        self.order_rules: list[RuleFacts] = []
        self._candidates: dict[tuple, tuple[RuleFacts, ...]] = {}
        self.filtered_candidates: dict[tuple, tuple[RuleFacts, ...]] = {}  # memo of the engine's
        # The loader's per-version caches (products, channels, memberships: pricing.snapshot); they
        # live and die with this rule set, so a version change empties them.
        self.loader_cache: dict[str, object] = {}
        self.context_memo: dict[tuple, tuple] = {}  # the engine's order-wide rule ranks per context
        self._context_ids: dict[frozenset, int] = {}
        for r in self.rules.values():
            if r.level == "order":
                self.order_rules.append(r)
            elif r.product_ids:
                for pid in r.product_ids:
                    self.rules_by_product.setdefault(pid, []).append(r)
            elif r.category_ids:
                for cid in r.category_ids:
                    self.rules_by_category.setdefault(cid, []).append(r)
            elif r.brand_ids:
                for bid in r.brand_ids:
                    self.rules_by_brand.setdefault(bid, []).append(r)
            else:
                self.rules_any_product.append(r)
        self.tax_by_country: dict[str, list[TaxRuleFacts]] = {}
        for t in self.tax_rules:
            self.tax_by_country.setdefault(t.country, []).append(t)
        self.shipping_by_method: dict[str, list[ShippingRuleFacts]] = {}
        for s in self.shipping_rules:
            self.shipping_by_method.setdefault(s.ship_method, []).append(s)

    def line_candidates(self, product: ProductFacts) -> tuple[RuleFacts, ...]:
        """Line rules whose index keys the product hits, by (priority, id); memoised per product."""
        key = (product.id, product.brand_id, product.category_path)
        found = self._candidates.get(key)
        if found is None:
            hits: dict[int, RuleFacts] = {r.id: r for r in self.rules_by_product.get(product.id, ())}
            for cid in product.category_path:
                hits.update((r.id, r) for r in self.rules_by_category.get(cid, ()))
            hits.update((r.id, r) for r in self.rules_by_brand.get(product.brand_id, ()))
            hits.update((r.id, r) for r in self.rules_any_product)
            found = tuple(sorted(hits.values(), key=lambda r: (r.priority, r.id)))
            self._candidates[key] = found  # a race only computes the same tuple twice
        return found

    def context_id(self, ranks: frozenset) -> int:
        """A small id per distinct set of applicable rules and ranks (a cheap memo key)."""
        found = self._context_ids.get(ranks)
        if found is None:
            found = self._context_ids.setdefault(ranks, len(self._context_ids) + 1)
        return found

    def context_memo_put(self, key: tuple, value: tuple) -> None:
        if len(self.context_memo) > 50_000:  # bounded: one entry per customer x date x currency
            self.context_memo.clear()
        self.context_memo[key] = value

    def list_ids_for_items(self, on: date | None = None) -> list[int]:
        """Every list some strategy uses (the loader fetches items of these lists only)."""
        ids: set[int] = set()
        for s in self.strategies.values():
            ids.update(s.list_ids)
        return sorted(i for i in ids if i in self.price_lists)


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    id: int
    account_number: str | None
    kind: str = "b2b"
    demand_class: str = "standard"
    tax_exempt: bool = False
    credit_limit: Decimal = ZERO
    country: str = ""  # primary bill-to site
    ship_country: str = ""  # primary ship-to site (the default ship-to)
    ship_region: str = ""
    ship_postcode: str = ""
    segment_ids: frozenset[int] = frozenset()  # explicit memberships


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    id: int
    code: str
    trusted_prices: bool = False


@dataclass(frozen=True, slots=True)
class ProductFacts:
    id: int
    sku: str
    category_id: int
    brand_id: int
    tax_class_id: int
    base_uom: str = "EA"
    product_type: str = "goods"
    weight_kg: Decimal = ZERO
    active: bool = True
    category_path: frozenset[int] = frozenset()  # its category and every ancestor


@dataclass(frozen=True, slots=True)
class CouponFacts:
    id: int
    code: str
    rule_id: int
    active: bool = True
    max_uses: int | None = None
    max_uses_per_customer: int | None = None
    times_used: int = 0
    customer_uses: int = 0
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class PricingSnapshot:
    ruleset: RuleSet
    pricing_date: date
    products: dict[str, ProductFacts]  # by upper-case SKU
    items: dict[int, tuple[ItemFacts, ...]]  # by product id, for the lists in the rule set
    conversions: dict[tuple[int | None, str, str], Decimal] = field(default_factory=dict)
    customer: CustomerFacts | None = None
    channel: ChannelFacts | None = None
    coupons: dict[str, CouponFacts] = field(default_factory=dict)  # by upper-case code

"""`price(request, snapshot, explain=False)`: the pricing engine, a pure function.

No database, no clock, no globals: everything comes from the request and the snapshot, so a price
can be recomputed and explained later. The order of work, the precedence and the rounding
boundaries are documented in docs/pricing.md; in short:

1. segments the customer is in; strategies that apply (customer > segment > channel > default);
2. per line: the list price from the first list (or the lowest, where the strategy says so) that
   has the product -- exact tier arithmetic, converted at the dated rate, rounded once;
3. line rules in precedence order (level, priority, id): stackable ones cascade or accumulate,
   an exclusive one stops the chain, best-price ones compete and only the lowest applies;
4. the staff's manual adjustment, checked against the guardrail;
5. order-level rules on the subtotal, spread over lines by largest remainder;
6. shipping for the order, spread over goods lines by largest remainder;
7. tax per line on its net (plus its shipping share when shipping is taxable), rounded per line.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import allocate, quantum

from .snapshot import (
    ItemFacts,
    PriceListFacts,
    PricingSnapshot,
    ProductFacts,
    RuleFacts,
    SegmentFacts,
    ShippingRuleFacts,
    StrategyFacts,
    TaxRuleFacts,
    in_dates,
)
from .tiers import extended_amount
from .types import (
    Component,
    CouponCheck,
    FxUse,
    LinePrice,
    LineRequest,
    PriceRequest,
    PriceResult,
    Recurring,
    RecurringTotals,
    ShipTo,
    Totals,
    TraceEntry,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
LEVELS = ("customer", "segment", "channel", "default")
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}
MANUAL_KINDS = ("price_override", "percent_off", "amount_off", "markup")


class _Line:
    """Mutable working state of one line while pricing (frozen into a LinePrice at the end)."""

    __slots__ = (
        "base_qty",
        "charge_type",
        "components",
        "fx",
        "index",
        "item",
        "line_discount",
        "list_amount",
        "manual_reason",
        "notes",
        "order_discount",
        "price_list",
        "product",
        "qty",
        "recurring",
        "req",
        "running",
        "shipping",
        "source",
        "uom",
    )

    def __init__(self, index: int, req: LineRequest, product: ProductFacts, uom: str):
        self.index = index
        self.req = req
        self.product = product
        self.qty = req.quantity
        self.uom = uom
        self.base_qty = req.quantity
        self.components: list[Component] = []
        self.notes: list[str] = []
        self.fx: FxUse | None = None
        self.item: ItemFacts | None = None
        self.price_list: PriceListFacts | None = None
        self.list_amount = ZERO
        self.running = ZERO
        self.line_discount = ZERO
        self.order_discount = ZERO
        self.shipping = ZERO
        self.charge_type = "one_time"
        self.recurring: Recurring | None = None
        self.source = False
        self.manual_reason: str | None = None


class _Ctx:
    """Per-call context: the request, the snapshot, the resolved precedence, the trace."""

    def __init__(self, request: PriceRequest, snapshot: PricingSnapshot, explain: bool):
        self.req = request
        self.snap = snapshot
        self.rs = snapshot.ruleset
        self.on = snapshot.pricing_date
        self.currency = request.currency
        self.q = quantum(request.currency)
        self.trace: list[TraceEntry] | None = [] if explain else None
        self.errors: dict[str, list[str]] = {}
        self.rates: dict[tuple[str, str], FxUse] = {}
        self.list_order: dict[int, tuple[int, ...]] = {}

    def round(self, amount: Decimal) -> Decimal:
        """round_money semantics (half up to the minor unit), without its per-call lookups."""
        return amount.quantize(self.q, ROUND_HALF_UP)

    def note(self, scope: str, step: str, subject: str, outcome: str, reason: str) -> None:
        self.trace.append(TraceEntry(scope, step, subject, outcome, reason))

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def rate(self, base: str, on_missing_path: str | None = None) -> FxUse | None:
        """The dated rate base -> order currency (recorded once per pair)."""
        if base == self.currency:
            return None
        key = (base, self.currency)
        fx = self.rates.get(key)
        if fx is None:
            fx = self.rs.rates.lookup(base, self.currency, self.on)
            if fx is None:
                if on_missing_path:
                    self.error(
                        on_missing_path,
                        f"No exchange rate from {base} to {self.currency} on or before {self.on}.",
                    )
                return None
            self.rates[key] = fx
            if self.trace is not None:
                self.note(
                    "order",
                    "fx",
                    f"{base}->{self.currency}",
                    "used",
                    f"1 {base} = {fx.rate} {self.currency}, rate of {fx.valid_on}"
                    + (" (reciprocal of the stored reverse rate)" if fx.inverted else ""),
                )
        return fx

    def in_currency(self, amount: Decimal, currency: str) -> Decimal | None:
        """An amount in `currency` expressed in the order currency (exact; callers round)."""
        if not currency or currency == self.currency:
            return amount
        fx = self.rate(currency)
        return None if fx is None else amount * fx.rate


# --- precedence ---------------------------------------------------------------------------------


def _segment_matches(seg: SegmentFacts, ctx: _Ctx, ship_to: ShipTo) -> str | None:
    """Why the customer is in the segment, or None."""
    cust, chan = ctx.snap.customer, ctx.snap.channel
    if cust is not None and seg.id in cust.segment_ids:
        return "explicitly assigned"
    if not seg.has_criteria:
        return None
    kind = cust.kind if cust else "consumer"
    if seg.customer_kind and seg.customer_kind != kind:
        return None
    if seg.demand_class and (cust is None or seg.demand_class != cust.demand_class):
        return None
    if seg.channel_id is not None and (chan is None or chan.id != seg.channel_id):
        return None
    country = (cust.country if cust and cust.country else ship_to.country).upper()
    if seg.country and seg.country != country:
        return None
    if seg.min_credit_limit is not None and (cust is None or cust.credit_limit < seg.min_credit_limit):
        return None
    if seg.max_credit_limit is not None and (cust is None or cust.credit_limit >= seg.max_credit_limit):
        return None
    return "criteria match"


def _resolve_segments(ctx: _Ctx, ship_to: ShipTo) -> dict[int, int]:
    """Matched segment id -> its rank (priority order)."""
    matched: dict[int, int] = {}
    for seg in ctx.rs.segments:
        why = _segment_matches(seg, ctx, ship_to)
        if why:
            matched[seg.id] = len(matched)
        if ctx.trace is not None:
            ctx.note(
                "order", "segment", seg.code, "matched" if why else "not matched", why or "criteria differ"
            )
    return matched


def _resolve_strategies(ctx: _Ctx, segments: dict[int, int]) -> list[tuple[str, StrategyFacts]]:
    """Applicable strategies in precedence order, each once (at its highest level)."""
    cust, chan = ctx.snap.customer, ctx.snap.channel
    found: list[tuple[tuple, str, StrategyFacts]] = []
    for a in ctx.rs.assignments:
        strategy = ctx.rs.strategies.get(a.strategy_id)
        if strategy is None:
            continue
        if a.level == "customer":
            ok, key = cust is not None and a.customer_id == cust.id, (0, 0, a.id)
        elif a.level == "segment":
            ok, key = a.segment_id in segments, (1, segments.get(a.segment_id, 0), a.id)
        elif a.level == "channel":
            ok, key = chan is not None and a.channel_id == chan.id, (2, 0, a.id)
        else:
            ok, key = True, (3, 0, a.id)
        if not ok:
            continue
        if not in_dates(a.valid_from, a.valid_to, ctx.on):
            if ctx.trace is not None:
                ctx.note(
                    "order",
                    "strategy",
                    strategy.code,
                    "skipped",
                    f"{a.level} assignment not in effect on {ctx.on}",
                )
            continue
        found.append((key, a.level, strategy))
    found.sort(key=lambda f: f[0])
    chain: list[tuple[str, StrategyFacts]] = []
    seen: set[int] = set()
    for _, level, strategy in found:
        if strategy.id in seen:
            continue
        seen.add(strategy.id)
        chain.append((level, strategy))
        if ctx.trace is not None:
            ctx.note(
                "order", "strategy", strategy.code, "selected", f"{level} level, precedence {len(chain)}"
            )
    return chain


def _rule_level(rule: RuleFacts) -> str:
    if rule.customer_ids:
        return "customer"
    if rule.segment_ids:
        return "segment"
    if rule.channel_ids:
        return "channel"
    return "default"


def _context_rules(
    ctx: _Ctx, chain: list[tuple[str, StrategyFacts]], segments: dict[int, int], coupon_rules: dict[int, str]
) -> dict[int, tuple[int, int, int]]:
    """Rules whose order-wide conditions hold, with their rank (level, priority, id)."""
    rs, cust, chan = ctx.rs, ctx.snap.customer, ctx.snap.channel
    ranks: dict[int, tuple[int, int, int]] = {}
    levels: dict[int, str] = {}
    for level, strategy in chain:
        for rid in strategy.rule_ids:
            if rid in rs.rules and rid not in levels:
                levels[rid] = level
    for rid in rs.rules.keys() - rs.rules_in_strategies:
        levels[rid] = _rule_level(rs.rules[rid])
    explain = ctx.trace is not None
    for rid, rule in rs.rules.items():
        why = None
        if rid not in levels:
            why = "its strategies do not apply to this order"
        elif not in_dates(rule.valid_from, rule.valid_to, ctx.on):
            why = f"not in effect on {ctx.on}"
        elif rule.customer_ids and (cust is None or cust.id not in rule.customer_ids):
            why = "for other customers"
        elif rule.segment_ids and rule.segment_ids.isdisjoint(segments):
            why = "for other segments"
        elif rule.channel_ids and (chan is None or chan.id not in rule.channel_ids):
            why = "for other channels"
        elif rule.coupon_gated and rid not in coupon_rules:
            why = "needs a coupon code that was not given (or is not valid)"
        elif (
            rule.currency
            and rule.currency != ctx.currency
            and rule.action in ("amount_off", "price_override")
            and ctx.rate(rule.currency) is None
        ):
            why = f"no exchange rate {rule.currency}->{ctx.currency}"
        if why is None:
            ranks[rid] = (LEVEL_RANK[levels[rid]], rule.priority, rid)
        elif explain:
            ctx.note("order", "rule", rule.code, "skipped", why)
    return ranks


def _check_coupons(ctx: _Ctx) -> tuple[list[CouponCheck], dict[int, str]]:
    checks: list[CouponCheck] = []
    valid_rules: dict[int, str] = {}
    cust = ctx.snap.customer
    seen: set[str] = set()
    for raw in ctx.req.coupon_codes:
        code = raw.strip().upper()
        if not code or code in seen:
            continue
        seen.add(code)
        c = ctx.snap.coupons.get(code)
        rule = ctx.rs.rules.get(c.rule_id) if c else None
        if c is None:
            why = "unknown coupon code"
        elif not c.active or rule is None:
            why = "coupon is not active"
        elif not in_dates(c.valid_from, c.valid_to, ctx.on):
            why = f"coupon is not valid on {ctx.on}"
        elif c.max_uses is not None and c.times_used >= c.max_uses:
            why = f"coupon used up ({c.times_used} of {c.max_uses} uses)"
        elif (
            c.max_uses_per_customer is not None
            and cust is not None
            and c.customer_uses >= c.max_uses_per_customer
        ):
            why = f"this customer has used the coupon {c.customer_uses} of {c.max_uses_per_customer} times"
        else:
            why = None
        if why is None:
            valid_rules[c.rule_id] = code
            checks.append(CouponCheck(code, True, "valid", rule.code))
        else:
            checks.append(CouponCheck(code, False, why, rule.code if rule else None))
        if ctx.trace is not None:
            ctx.note("order", "coupon", code, "valid" if why is None else "invalid", why or "usable")
    return checks, valid_rules


# --- list price ---------------------------------------------------------------------------------


def _convert_qty(ctx: _Ctx, product: ProductFacts, qty: Decimal, src: str, dst: str) -> Decimal | None:
    if src == dst:
        return qty
    conv = ctx.snap.conversions
    for pid in (product.id, None):
        factor = conv.get((pid, src, dst))
        if factor is not None:
            return qty * factor
        factor = conv.get((pid, dst, src))
        if factor is not None:
            return qty / factor
    return None


def _find_item(ctx: _Ctx, line: _Line, list_id: int) -> tuple[ItemFacts, Decimal] | None:
    """The list's item for the line's unit, else one in another unit the quantity converts to."""
    fallback = None
    for item in ctx.snap.items.get(line.product.id, ()):
        if item.price_list_id != list_id:
            continue
        if item.uom == line.uom:
            return item, line.qty
        if fallback is None or item.uom == line.product.base_uom:
            qty = _convert_qty(ctx, line.product, line.qty, line.uom, item.uom)
            if qty is not None:
                fallback = (item, qty)
    return fallback


def _lists_in_order(ctx: _Ctx, strategy: StrategyFacts) -> tuple[int, ...]:
    """The strategy's lists by position, those in the order currency first (no FX when avoidable)."""
    ordered = ctx.list_order.get(strategy.id)
    if ordered is None:
        lists = ctx.rs.price_lists
        ordered = tuple(
            sorted(
                (lid for lid in strategy.list_ids if lid in lists),
                key=lambda lid: lists[lid].currency != ctx.currency,
            )
        )
        ctx.list_order[strategy.id] = ordered
    return ordered


def _list_price(ctx: _Ctx, line: _Line, chain: list[tuple[str, StrategyFacts]]) -> bool:
    scope = f"line {line.index + 1}"
    explain = ctx.trace is not None
    rs = ctx.rs
    for level, strategy in chain:
        options: list[
            tuple[Decimal, PriceListFacts, ItemFacts, Decimal, object, Decimal | None, FxUse | None]
        ] = []
        for lid in _lists_in_order(ctx, strategy):
            plist = rs.price_lists.get(lid)
            if plist is None:
                continue
            if not in_dates(plist.valid_from, plist.valid_to, ctx.on):
                if explain:
                    ctx.note(scope, "price_list", plist.code, "skipped", f"not in effect on {ctx.on}")
                continue
            found = _find_item(ctx, line, lid)
            if found is None:
                if explain:
                    ctx.note(
                        scope,
                        "price_list",
                        plist.code,
                        "skipped",
                        f"no price for {line.product.sku} in {line.uom}",
                    )
                continue
            item, qty = found
            exact, band, n_blocks = extended_amount(item, qty)
            fx = None
            if plist.currency != ctx.currency:
                fx = ctx.rate(plist.currency, "currency")
                if fx is None:
                    continue
                exact = exact * fx.rate
            options.append((ctx.round(exact), plist, item, qty, band, n_blocks, fx))
            if strategy.list_selection != "lowest":
                break
        if not options:
            continue
        best = min(options, key=lambda o: o[0]) if len(options) > 1 else options[0]
        amount, plist, item, qty, band, n_blocks, fx = best
        if explain:
            for o in options:
                if o is not best:
                    ctx.note(
                        scope,
                        "price_list",
                        o[1].code,
                        "not selected",
                        f"{o[0]} is above the best price {amount}",
                    )
            how = "lowest of its lists" if strategy.list_selection == "lowest" else "first list with the item"
            ctx.note(
                scope,
                "price_list",
                plist.code,
                "selected",
                f"strategy {strategy.code} ({level} level), {how}",
            )
            if band is not None:
                upper = "no limit" if band.upper is None else band.upper
                ctx.note(
                    scope,
                    "tier",
                    plist.code,
                    "applied",
                    f"{item.tier_mode} on {item.tier_basis}: band over {band.lower} up to {upper} "
                    f"@ {band.unit_price} {plist.currency}",
                )
        line.item, line.price_list, line.fx = item, plist, fx
        line.list_amount = line.running = amount
        if item.charge_type == "recurring":
            line.charge_type = "recurring"
            line.recurring = Recurring(item.recurring_period, item.recurring_periods)
        detail = {
            "price_list": plist.code,
            "unit_price": item.unit_price,
            "list_currency": plist.currency,
            "quantity": qty,
            "uom": item.uom,
            "tier_mode": item.tier_mode,
        }
        if band is not None:
            detail["tier"] = {"lower": band.lower, "upper": band.upper, "unit_price": band.unit_price}
        if n_blocks is not None:
            detail["blocks"] = n_blocks
        if fx is not None:
            detail["fx"] = {"rate": fx.rate, "valid_on": fx.valid_on}
        line.components.append(
            Component("list_price", amount, f"List price ({plist.code})", plist.code, detail)
        )
        return True
    return False


# --- discount chains ----------------------------------------------------------------------------

# compute(rule) -> (discount amount, None) or (None, reason it does not apply)
Compute = Callable[[RuleFacts], tuple[Decimal | None, str | None]]


def _run_chain(
    ctx: _Ctx,
    scope: str,
    rules: list[RuleFacts],
    compute: Compute,
    apply: Callable[[RuleFacts, Decimal], None],
) -> None:
    """Apply rules in order: stackable go on, exclusive stops, best-price ones compete once."""
    explain = ctx.trace is not None
    best_done = False
    for pos, rule in enumerate(rules):
        if rule.combination == "best_price":
            if best_done:
                continue  # already decided (and traced) with its group
            best_done = True
            contenders: list[tuple[Decimal, RuleFacts]] = []
            for other in rules[pos:]:
                if other.combination != "best_price":
                    continue
                amount, why = compute(other)
                if amount is None:
                    if explain:
                        ctx.note(scope, "rule", other.code, "skipped", why)
                else:
                    contenders.append((amount, other))
            if not contenders:
                continue
            win_amount, winner = max(contenders, key=lambda c: c[0])  # the lowest price; ties: first
            apply(winner, win_amount)
            if explain:
                ctx.note(
                    scope, "rule", winner.code, "applied", f"best price of {len(contenders)}: -{win_amount}"
                )
                for amount, other in contenders:
                    if other is not winner:
                        ctx.note(
                            scope,
                            "rule",
                            other.code,
                            "skipped",
                            f"not the best price (-{amount} vs -{win_amount} by {winner.code})",
                        )
            continue
        amount, why = compute(rule)
        if amount is None:
            if explain:
                ctx.note(scope, "rule", rule.code, "skipped", why)
            continue
        apply(rule, amount)
        if explain:
            ctx.note(scope, "rule", rule.code, "applied", f"{rule.action} {rule.value}: {-amount:+}")
        if rule.combination == "exclusive":
            if explain:
                for later in rules[pos + 1 :]:
                    ctx.note(
                        scope, "rule", later.code, "skipped", f"exclusive rule {rule.code} stopped the chain"
                    )
            return


def _line_candidates(
    ctx: _Ctx, product: ProductFacts, ranks: dict[int, tuple[int, int, int]]
) -> list[RuleFacts]:
    rs = ctx.rs
    found: dict[int, RuleFacts] = {}
    for r in rs.rules_by_product.get(product.id, ()):
        if r.id in ranks:
            found[r.id] = r
    for cid in product.category_path:
        for r in rs.rules_by_category.get(cid, ()):
            if r.id in ranks:
                found[r.id] = r
    for r in rs.rules_by_brand.get(product.brand_id, ()):
        if r.id in ranks:
            found[r.id] = r
    for r in rs.rules_any_product:
        if r.id in ranks:
            found[r.id] = r
    return sorted(found.values(), key=lambda r: ranks[r.id])


def _product_matches(rule: RuleFacts, product: ProductFacts) -> str | None:
    if rule.product_ids and product.id not in rule.product_ids:
        return "for other products"
    if rule.category_ids and rule.category_ids.isdisjoint(product.category_path):
        return "for other categories"
    if rule.brand_ids and product.brand_id not in rule.brand_ids:
        return "for other brands"
    return None


def _order_thresholds(ctx: _Ctx, rule: RuleFacts, order_qty: Decimal, order_amount: Decimal) -> str | None:
    if rule.min_order_quantity is not None and order_qty < rule.min_order_quantity:
        return f"order quantity {order_qty} is below {rule.min_order_quantity}"
    if rule.min_order_amount is not None:
        threshold = ctx.in_currency(rule.min_order_amount, rule.currency)
        if threshold is None:
            return f"no exchange rate {rule.currency}->{ctx.currency}"
        if order_amount < threshold:
            return f"order amount {order_amount} is below {ctx.round(threshold)}"
    return None


def _line_rule_amount(
    ctx: _Ctx, line: _Line, rule: RuleFacts, order_qty: Decimal, order_amount: Decimal, override: str | None
) -> tuple[Decimal | None, str | None]:
    """(discount, None) -- negative for a markup -- or (None, why the rule does not apply)."""
    if rule.dims > 1:  # one dimension was matched by the index lookup; check the others
        why = _product_matches(rule, line.product)
        if why:
            return None, why
    if rule.min_quantity is not None and line.base_qty < rule.min_quantity:
        return None, f"line quantity {line.base_qty} is below {rule.min_quantity}"
    if rule.min_order_quantity is not None or rule.min_order_amount is not None:
        why = _order_thresholds(ctx, rule, order_qty, order_amount)
        if why:
            return None, why
    running = line.running
    action = rule.action
    q = ctx.q
    if action == "percent_off":
        base = line.list_amount if rule.apply_on == "list" else running
        amount = (base * rule.factor).quantize(q, ROUND_HALF_UP)
    elif action == "markup":
        base = line.list_amount if rule.apply_on == "list" else running
        amount = -(base * rule.factor).quantize(q, ROUND_HALF_UP)
    elif action == "amount_off":
        amount = (ctx.in_currency(rule.value, rule.currency) * line.qty).quantize(q, ROUND_HALF_UP)
    elif action == "price_override":
        if override is not None:
            return None, f"price already set by {override}"
        amount = running - (ctx.in_currency(rule.value, rule.currency) * line.qty).quantize(q, ROUND_HALF_UP)
    elif action == "buy_x_get_y":
        group = rule.buy_quantity + rule.get_quantity
        free = (line.qty / group).to_integral_value(ROUND_FLOOR) * rule.get_quantity
        if not free:
            return None, f"needs {group} units for {rule.get_quantity} at {rule.value}% off"
        amount = (running * free / line.qty * rule.factor).quantize(q, ROUND_HALF_UP)
    else:
        return None, f"unknown action {action}"
    if amount > running:
        amount = running  # never below zero
    return amount, None


def _apply_line_rule(line: _Line, rule: RuleFacts, amount: Decimal, coupon: str | None) -> None:
    line.running -= amount
    line.line_discount += amount
    detail = rule.detail if not coupon else {**rule.detail, "coupon": coupon}
    line.components.append(
        Component("markup" if amount < 0 else "discount", -amount, rule.name or rule.code, rule.code, detail)
    )


def _price_line_rules(
    ctx: _Ctx,
    line: _Line,
    ranks: dict,
    coupon_rules: dict[int, str],
    order_qty: Decimal,
    order_amount: Decimal,
    applied_rules: set[int],
) -> None:
    """The line's rule chain (the hot loop: the same semantics as `_run_chain`, without closures)."""
    rules = _line_candidates(ctx, line.product, ranks)
    if not rules:
        return
    explain = ctx.trace is not None
    scope = f"line {line.index + 1}" if explain else ""
    override: str | None = None
    best_done = False
    for pos, rule in enumerate(rules):
        if rule.combination == "best_price":
            if best_done:
                continue
            best_done = True
            contenders: list[tuple[Decimal, RuleFacts]] = []
            for other in rules[pos:]:
                if other.combination != "best_price":
                    continue
                amount, why = _line_rule_amount(ctx, line, other, order_qty, order_amount, override)
                if amount is None:
                    if explain:
                        ctx.note(scope, "rule", other.code, "skipped", why)
                else:
                    contenders.append((amount, other))
            if not contenders:
                continue
            amount, winner = max(contenders, key=lambda c: c[0])  # the lowest price; ties: first
            _apply_line_rule(line, winner, amount, coupon_rules.get(winner.id))
            applied_rules.add(winner.id)
            if winner.action == "price_override":
                override = winner.code
            if explain:
                ctx.note(scope, "rule", winner.code, "applied", f"best price of {len(contenders)}: -{amount}")
                for other_amount, other in contenders:
                    if other is not winner:
                        ctx.note(
                            scope,
                            "rule",
                            other.code,
                            "skipped",
                            f"not the best price (-{other_amount} vs -{amount} by {winner.code})",
                        )
            continue
        amount, why = _line_rule_amount(ctx, line, rule, order_qty, order_amount, override)
        if amount is None:
            if explain:
                ctx.note(scope, "rule", rule.code, "skipped", why)
            continue
        _apply_line_rule(line, rule, amount, coupon_rules.get(rule.id))
        applied_rules.add(rule.id)
        if rule.action == "price_override":
            override = rule.code
        if explain:
            ctx.note(scope, "rule", rule.code, "applied", f"{rule.action} {rule.value}: {-amount:+}")
        if rule.combination == "exclusive":
            if explain:
                for later in rules[pos + 1 :]:
                    ctx.note(
                        scope, "rule", later.code, "skipped", f"exclusive rule {rule.code} stopped the chain"
                    )
            return


def _manual(ctx: _Ctx, line: _Line, approvals: list[str]) -> None:
    adj = line.req.manual_adjustment
    scope = f"line {line.index + 1}"
    path = f"lines[{line.index}].manual_adjustment"
    if adj.kind not in MANUAL_KINDS:
        ctx.error(f"{path}.kind", f"One of {', '.join(MANUAL_KINDS)}.")
        return
    if not adj.reason_code or adj.reason_code not in ctx.rs.reason_codes:
        ctx.error(f"{path}.reason_code", f"Unknown reason code '{adj.reason_code}'.")
        return
    if adj.value < 0 or (adj.kind == "percent_off" and adj.value > HUNDRED):
        ctx.error(f"{path}.value", "Out of range.")
        return
    running = line.running
    if adj.kind == "price_override":
        amount = running - ctx.round(adj.value * line.qty)
    elif adj.kind == "percent_off":
        amount = ctx.round(running * adj.value / HUNDRED)
    elif adj.kind == "amount_off":
        amount = ctx.round(adj.value)
    else:
        amount = -ctx.round(running * adj.value / HUNDRED)
    if amount > running:
        amount = running
    line.running -= amount
    line.line_discount += amount
    line.manual_reason = adj.reason_code
    line.components.append(
        Component(
            "manual",
            -amount,
            f"Manual {adj.kind.replace('_', ' ')}",
            None,
            {"kind": adj.kind, "value": adj.value, "reason_code": adj.reason_code},
        )
    )
    limit = ctx.rs.policy.max_manual_discount_percent
    off = (line.list_amount - line.running) / line.list_amount * HUNDRED if line.list_amount else ZERO
    over = off > limit
    if over:
        approvals.append(
            f"Line {line.index + 1} ({line.product.sku}): the manual {adj.kind.replace('_', ' ')} "
            f"(reason {adj.reason_code}) leaves the price {off.quantize(Decimal('0.01'))}% below list "
            f"({line.list_amount} -> {line.running} {ctx.currency}), beyond the {limit.normalize():f}% "
            "guardrail: needs approval."
        )
    if ctx.trace is not None:
        ctx.note(
            scope,
            "manual",
            adj.kind,
            "applied",
            f"{adj.value} ({adj.reason_code}): {-amount:+}; {off.quantize(Decimal('0.01'))}% below list, "
            + ("needs approval" if over else f"within the {limit.normalize():f}% guardrail"),
        )


def _order_rules(
    ctx: _Ctx,
    lines: list[_Line],
    ranks: dict,
    coupon_rules: dict[int, str],
    order_qty: Decimal,
    applied_rules: set[int],
) -> None:
    rules = sorted((r for r in ctx.rs.order_rules if r.id in ranks), key=lambda r: ranks[r.id])
    eligible = [ln for ln in lines if ln.charge_type == "one_time" and not ln.source]
    if not rules or not eligible:
        return

    def targets(rule: RuleFacts) -> list[_Line]:
        return [ln for ln in eligible if _product_matches(rule, ln.product) is None]

    def compute(rule: RuleFacts) -> tuple[Decimal | None, str | None]:
        hit = targets(rule)
        if not hit:
            return None, "no line it covers"
        subtotal = sum((ln.running for ln in eligible), ZERO)
        why = _order_thresholds(ctx, rule, order_qty, subtotal)
        if why:
            return None, why
        running = sum((ln.running for ln in hit), ZERO)
        base = sum((ln.list_amount for ln in hit), ZERO) if rule.apply_on == "list" else running
        if rule.action == "percent_off":
            amount = ctx.round(base * rule.value / HUNDRED)
        elif rule.action == "amount_off":
            amount = ctx.round(ctx.in_currency(rule.value, rule.currency))
        else:
            return None, f"{rule.action} is not an order-level action"
        return min(amount, running), None

    def apply(rule: RuleFacts, amount: Decimal) -> None:
        hit = targets(rule)
        shares = allocate(amount, [ln.running for ln in hit], ctx.currency)
        coupon = coupon_rules.get(rule.id)
        for ln, share in zip(hit, shares, strict=True):
            if not share:
                continue
            ln.running -= share
            ln.order_discount += share
            detail = {"action": rule.action, "value": rule.value, "order_amount": amount}
            if coupon:
                detail["coupon"] = coupon
            ln.components.append(
                Component("order_discount", -share, rule.name or rule.code, rule.code, detail)
            )
        applied_rules.add(rule.id)

    _run_chain(ctx, "order", rules, compute, apply)


# --- charges ------------------------------------------------------------------------------------


def _shipping(ctx: _Ctx, lines: list[_Line], ship_to: ShipTo) -> tuple[ShippingRuleFacts | None, bool]:
    method = ctx.req.ship_method
    if not method:
        return None, False
    if method not in ctx.rs.ship_methods:
        ctx.error("ship_method", f"Unknown ship method '{method}'.")
        return None, False
    goods = [ln for ln in lines if ln.charge_type == "one_time" and ln.product.product_type == "goods"]
    if not goods:
        if ctx.trace is not None:
            ctx.note("order", "shipping", method, "skipped", "nothing to ship")
        return None, False
    weight = sum((ln.product.weight_kg * ln.base_qty for ln in goods), ZERO)
    goods_net = sum((ln.running for ln in goods), ZERO)
    country, region = ship_to.country.upper(), ship_to.region.strip().lower()
    candidates: list[tuple[tuple, ShippingRuleFacts]] = []
    for rule in ctx.rs.shipping_by_method.get(method, ()):
        if not in_dates(rule.valid_from, rule.valid_to, ctx.on):
            continue
        if rule.country and rule.country != country:
            continue
        if rule.region and rule.region.strip().lower() != region:
            continue
        if weight < rule.min_weight_kg or (rule.max_weight_kg is not None and weight >= rule.max_weight_kg):
            continue
        lo = ctx.in_currency(rule.min_order_amount, rule.currency)
        hi = (
            ctx.in_currency(rule.max_order_amount, rule.currency)
            if rule.max_order_amount is not None
            else None
        )
        if lo is None or goods_net < lo or (hi is not None and goods_net >= hi):
            continue
        specificity = 0 if rule.region else 1 if rule.country else 2
        candidates.append(((specificity, rule.priority, rule.id), rule))
    if not candidates:
        ctx.error(
            "ship_method",
            f"No shipping rate for '{method}' to {country or 'this address'} "
            f"({weight} kg, goods {goods_net} {ctx.currency}).",
        )
        return None, False
    rule = min(candidates, key=lambda c: c[0])[1]
    free_over = (
        ctx.in_currency(rule.free_over_amount, rule.currency) if rule.free_over_amount is not None else None
    )
    if free_over is not None and goods_net >= free_over:
        charge = ZERO
        why = f"free: goods {goods_net} reach {ctx.round(free_over)}"
    else:
        exact = ctx.in_currency(rule.flat_amount + rule.per_kg_amount * weight, rule.currency)
        charge = ctx.round(exact)
        why = f"{rule.flat_amount} + {rule.per_kg_amount}/kg x {weight} kg ({rule.currency})"
    if ctx.trace is not None:
        ctx.note("order", "shipping", rule.name, "applied", f"{method}: {charge} {ctx.currency}; {why}")
    shares = allocate(charge, [ln.running for ln in goods], ctx.currency)
    for ln, share in zip(goods, shares, strict=True):
        ln.shipping = share
        if share:
            ln.components.append(
                Component(
                    "shipping",
                    share,
                    f"Shipping ({method})",
                    rule.name,
                    {"order_amount": charge, "taxable": rule.taxable},
                )
            )
    return rule, rule.taxable


def _tax_rule(ctx: _Ctx, tax_class_id: int, ship_to: ShipTo) -> TaxRuleFacts | None:
    region = ship_to.region.strip().lower()
    best, best_key = None, None
    for t in ctx.rs.tax_by_country.get(ship_to.country.upper(), ()):
        if t.tax_class_id != tax_class_id or not in_dates(t.valid_from, t.valid_to, ctx.on):
            continue
        if t.region and t.region.strip().lower() != region:
            continue
        key = (0 if t.region else 1, -(t.valid_from.toordinal() if t.valid_from else 0), t.id)
        if best_key is None or key < best_key:
            best, best_key = t, key
    return best


# --- the engine ---------------------------------------------------------------------------------


def price(request: PriceRequest, snapshot: PricingSnapshot, *, explain: bool = False) -> PriceResult:
    """Price an order. Raises ValidationFailed (with field paths) for what cannot be priced."""
    ctx = _Ctx(request, snapshot, explain)
    cust, chan = snapshot.customer, snapshot.channel
    if request.ship_to is not None:
        ship_to = request.ship_to
    elif cust is not None:
        ship_to = ShipTo(cust.ship_country, cust.ship_region, cust.ship_postcode)
    else:
        ship_to = ShipTo()

    segments = _resolve_segments(ctx, ship_to)
    chain = _resolve_strategies(ctx, segments)
    coupon_checks, coupon_rules = _check_coupons(ctx)
    ranks = _context_rules(ctx, chain, segments, coupon_rules)
    trusted = chan is not None and chan.trusted_prices

    # Pass 1: products, units and list prices.
    lines: list[_Line] = []
    for i, req in enumerate(request.lines):
        product = snapshot.products.get(req.sku.strip().upper())
        if product is None:
            ctx.error(f"lines[{i}].sku", f"Unknown SKU '{req.sku}'.")
            continue
        if not product.active:
            ctx.error(f"lines[{i}].sku", f"'{product.sku}' is not sold any more.")
            continue
        if req.quantity <= 0:
            ctx.error(f"lines[{i}].quantity", "Must be above zero.")
            continue
        uom = (req.uom or product.base_uom).strip().upper()
        line = _Line(i, req, product, uom)
        base_qty = _convert_qty(ctx, product, req.quantity, uom, product.base_uom)
        if base_qty is None:
            ctx.error(f"lines[{i}].uom", f"No conversion from {uom} to {product.base_uom} for {product.sku}.")
            continue
        line.base_qty = base_qty
        if req.source_unit_price is not None and trusted:
            line.source = True
            line.list_amount = line.running = ctx.round(req.source_unit_price * req.quantity)
            line.components.append(
                Component(
                    "source_price",
                    line.list_amount,
                    "Source price (trusted channel)",
                    chan.code,
                    {"unit_price": req.source_unit_price},
                )
            )
            if explain:
                ctx.note(
                    f"line {i + 1}",
                    "price_list",
                    chan.code,
                    "source price",
                    f"channel {chan.code} is trusted to send its prices; rules are not applied",
                )
        else:
            if req.source_unit_price is not None:
                line.notes.append("source price ignored: the channel is not trusted to send prices")
            if not _list_price(ctx, line, chain):
                if f"lines[{i}].sku" not in ctx.errors and "currency" not in ctx.errors:
                    ctx.error(
                        f"lines[{i}].sku", f"No price for '{product.sku}' in any price list that applies."
                    )
                continue
        lines.append(line)
    if ctx.errors:
        raise ValidationFailed("Some lines cannot be priced.", fields=ctx.errors)

    # Pass 2: line rules and manual adjustments.
    order_qty = sum((ln.base_qty for ln in lines), ZERO)
    order_amount = sum((ln.list_amount for ln in lines if ln.charge_type == "one_time"), ZERO)
    approvals: list[str] = []
    applied_rules: set[int] = set()
    for line in lines:
        if not line.source:
            _price_line_rules(ctx, line, ranks, coupon_rules, order_qty, order_amount, applied_rules)
        if line.req.manual_adjustment is not None:
            _manual(ctx, line, approvals)
    if ctx.errors:
        raise ValidationFailed("Some lines cannot be priced.", fields=ctx.errors)

    # Pass 3: order-level discounts, shipping, tax.
    _order_rules(ctx, lines, ranks, coupon_rules, order_qty, applied_rules)
    shipping_rule, shipping_taxable = _shipping(ctx, lines, ship_to)
    if ctx.errors:
        raise ValidationFailed("The order cannot be priced.", fields=ctx.errors)

    exempt = cust is not None and cust.tax_exempt
    tax_memo: dict[int, TaxRuleFacts | None] = {}
    out: list[LinePrice] = []
    for line in lines:
        scope = f"line {line.index + 1}"
        if exempt:
            rate, tax = ZERO, ZERO
            line.components.append(Component("tax", ZERO, "Tax exempt customer", None, {"exempt": True}))
            if explain:
                ctx.note(scope, "tax", "exempt", "applied", "the customer is tax exempt")
        else:
            tclass = line.product.tax_class_id
            if tclass not in tax_memo:
                tax_memo[tclass] = _tax_rule(ctx, tclass, ship_to)
            trule = tax_memo[tclass]
            rate = trule.rate if trule else ZERO
            base = line.running + (line.shipping if shipping_taxable else ZERO)
            tax = ctx.round(base * rate / HUNDRED)
            if trule:
                line.components.append(
                    Component(
                        "tax",
                        tax,
                        trule.name,
                        trule.name,
                        {"rate": rate, "base": base, "country": trule.country, "region": trule.region},
                    )
                )
            else:
                line.notes.append(
                    f"no tax rule for {ship_to.country or 'an unknown country'}; no tax charged"
                )
            if explain:
                ctx.note(
                    scope,
                    "tax",
                    trule.name if trule else "none",
                    "applied" if trule else "not found",
                    f"{rate}% of {base}"
                    if trule
                    else f"no rule for tax class {tclass} in {ship_to.country or '?'} {ship_to.region}",
                )
        r = ctx.round  # no-op on amounts already in minor units; gives zeros their places
        net = r(line.running)
        item = line.item
        out.append(
            LinePrice(
                index=line.index,
                sku=line.product.sku,
                product_id=line.product.id,
                quantity=line.qty,
                uom=line.uom,
                charge_type=line.charge_type,
                price_list=line.price_list.code if line.price_list else None,
                unit_list_price=(line.list_amount / line.qty) if item or line.source else ZERO,
                list_amount=r(line.list_amount),
                line_discount=r(line.line_discount),
                order_discount=r(line.order_discount),
                net=net,
                shipping=r(line.shipping),
                tax_rate=rate,
                tax=r(tax),
                total=r(net + line.shipping + tax),
                components=tuple(line.components),
                recurring=line.recurring,
                source_price=line.source,
                manual_reason_code=line.manual_reason,
                fx=line.fx,
                notes=tuple(line.notes),
            )
        )

    one_time = [lp for lp in out if lp.charge_type == "one_time"]
    zero = ctx.round(ZERO)
    totals = Totals(
        list_amount=sum((lp.list_amount for lp in one_time), zero),
        line_discount=sum((lp.line_discount for lp in one_time), zero),
        order_discount=sum((lp.order_discount for lp in one_time), zero),
        net=sum((lp.net for lp in one_time), zero),
        shipping=sum((lp.shipping for lp in one_time), zero),
        tax=sum((lp.tax for lp in one_time), zero),
        total=sum((lp.total for lp in one_time), zero),
    )
    groups: dict[tuple[str, int | None], list[LinePrice]] = {}
    for lp in out:
        if lp.recurring is not None:
            groups.setdefault((lp.recurring.period, lp.recurring.periods), []).append(lp)
    recurring = tuple(
        RecurringTotals(
            period=period,
            periods=periods,
            net=sum((lp.net for lp in group), zero),
            tax=sum((lp.tax for lp in group), zero),
            total=(per := sum((lp.total for lp in group), zero)),
            contract_total=per * periods if periods else None,
        )
        for (period, periods), group in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or 0))
    )
    coupons = tuple(
        CouponCheck(
            c.code, c.valid, c.reason, c.rule, applied=c.valid and _rule_id(ctx, c.rule) in applied_rules
        )
        for c in coupon_checks
    )
    return PriceResult(
        currency=ctx.currency,
        pricing_date=ctx.on,
        ruleset_version=ctx.rs.version,
        customer=cust.account_number if cust else None,
        channel=chan.code if chan else None,
        lines=tuple(out),
        totals=totals,
        recurring=recurring,
        needs_approval=bool(approvals),
        approval_reasons=tuple(approvals),
        coupons=coupons,
        rates=tuple(ctx.rates.values()),
        shipping_rule=shipping_rule.name if shipping_rule else None,
        trace=tuple(ctx.trace) if ctx.trace is not None else None,
    )


def _rule_id(ctx: _Ctx, code: str | None) -> int | None:
    for rid, rule in ctx.rs.rules.items():
        if rule.code == code:
            return rid
    return None

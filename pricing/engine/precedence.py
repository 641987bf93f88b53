"""Who gets which prices: segments, strategies (customer > segment > channel > default), the
rules that hold order-wide with their precedence rank, and coupon checks."""

from __future__ import annotations

from .context import LEVEL_RANK, _Ctx
from .snapshot import RuleFacts, SegmentFacts, StrategyFacts, in_dates
from .types import CouponCheck, ShipTo

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
    """Rules whose order-wide conditions hold, with their rank (level, priority, id).

    The answer depends only on the order's context (customer, segments, channel, strategies,
    coupons, date, currency), so it is memoised in the rule set per context: orders from the same
    kind of customer on the same channel share it, and each context gets a small integer id that
    keys the per-product candidate memo (comparing the rank sets themselves costs O(rules)).
    With `explain`, the rules are walked every time so that each skipped rule is traced.
    """
    rs, cust, chan = ctx.rs, ctx.snap.customer, ctx.snap.channel
    key = (
        cust.id if cust else None,
        tuple(segments),
        chan.id if chan else None,
        tuple(strategy.id for _, strategy in chain),
        tuple(sorted(coupon_rules)),
        ctx.on,
        ctx.currency,
    )
    if ctx.trace is None:
        memo = rs.context_memo.get(key)
        if memo is not None:
            ranks, ctx.context_id, ctx.single_level, fx_pairs = memo
            for base in fx_pairs:  # the rates the walk consulted are recorded as used, as on a walk
                ctx.rate(base)
            return ranks
    ranks: dict[int, tuple[int, int, int]] = {}
    levels: dict[int, str] = {}
    fx_bases: list[str] = []
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
        ):
            fx_bases.append(rule.currency)
            if ctx.rate(rule.currency) is None:
                why = f"no exchange rate {rule.currency}->{ctx.currency}"
        if why is None:
            ranks[rid] = (LEVEL_RANK[levels[rid]], rule.priority, rid)
        elif explain:
            ctx.note("order", "rule", rule.code, "skipped", why)
    ctx.single_level = len({rank[0] for rank in ranks.values()}) <= 1
    ctx.context_id = rs.context_id(frozenset(ranks.items()))
    rs.context_memo_put(key, (ranks, ctx.context_id, ctx.single_level, tuple(dict.fromkeys(fx_bases))))
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

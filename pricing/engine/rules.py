"""Discount chains: line rules (the hot loop), the manual adjustment and its guardrail, order-level
rules spread by largest remainder."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from oms.kernel.money import allocate

from .context import HUNDRED, MANUAL_KINDS, ZERO, _Ctx, _Line
from .snapshot import ProductFacts, RuleFacts
from .types import Component

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
) -> list[RuleFacts] | tuple[RuleFacts, ...]:
    """The product's candidate rules that hold for this order, in precedence order.

    Memoised in the rule set per (the order's applicable rules and their ranks, product): orders
    from the same kind of customer on the same channel share their filtered candidate lists.
    """
    memo = ctx.rs.filtered_candidates
    key = (ctx.context_id, product.id, product.brand_id, product.category_path)
    rules = memo.get(key)
    if rules is None:
        found = [r for r in ctx.rs.line_candidates(product) if r.id in ranks]
        if not ctx.single_level:  # the memo is by (priority, id); levels come first when they differ
            found.sort(key=lambda r: ranks[r.id])
        rules = tuple(found)
        if len(memo) > 200_000:  # bounded: many contexts x many products
            memo.clear()
        memo[key] = rules
    return rules


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
    if action in ("percent_off", "markup"):
        base = line.list_amount if rule.apply_on == "list" else running
        amount = (base * rule.signed_factor).quantize(q, ROUND_HALF_UP)
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


def _component(rule: RuleFacts, amount: Decimal, coupon: str | None) -> Component:
    detail = rule.detail if not coupon else {**rule.detail, "coupon": coupon}
    return Component("markup" if amount < 0 else "discount", -amount, rule.label, rule.code, detail)


def _price_line_rules(
    ctx: _Ctx,
    line: _Line,
    ranks: dict,
    coupon_rules: dict[int, str],
    order_qty: Decimal,
    order_amount: Decimal,
    applied_rules: set[int],
) -> None:
    """The line's rule chain: the engine's hot loop (the same semantics as `_run_chain`, inlined).

    Stackable rules apply in order; an exclusive one applies and stops the chain; the best-price
    ones are decided together at the first of them (only the largest discount applies); once a
    price override applied, later overrides are skipped.
    """
    rules = _line_candidates(ctx, line.product, ranks)
    if not rules:
        return
    explain = ctx.trace is not None
    scope = f"line {line.index + 1}" if explain else ""
    q = ctx.q
    currency = ctx.currency
    half_up = ROUND_HALF_UP
    new_tuple = tuple.__new__  # builds the Component NamedTuple without its Python-level __new__
    list_amount = line.list_amount
    components = line.components
    override: str | None = None
    best_done = False
    for pos, rule in enumerate(rules):
        combination = rule.combination
        if combination == "best_price":
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
            line.running -= amount
            components.append(_component(winner, amount, coupon_rules.get(winner.id)))
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
        if rule.simple:  # a plain percent or markup: at most a line minimum, one multiplication
            minimum = rule.min_quantity
            if minimum is not None and line.base_qty < minimum:
                if explain:
                    ctx.note(
                        scope,
                        "rule",
                        rule.code,
                        "skipped",
                        f"line quantity {line.base_qty} is below {minimum}",
                    )
                continue
            running = line.running
            amount = ((list_amount if rule.on_list else running) * rule.signed_factor).quantize(q, half_up)
            if amount > running:
                amount = running
            kind = rule.kind
        elif rule.simple_amount and (not rule.currency or rule.currency == currency):
            minimum = rule.min_quantity  # an amount off per unit in the order currency
            if minimum is not None and line.base_qty < minimum:
                if explain:
                    ctx.note(
                        scope,
                        "rule",
                        rule.code,
                        "skipped",
                        f"line quantity {line.base_qty} is below {minimum}",
                    )
                continue
            running = line.running
            amount = (rule.value * line.qty).quantize(q, half_up)
            if amount > running:
                amount = running
            kind = "discount"
        else:
            amount, why = _line_rule_amount(ctx, line, rule, order_qty, order_amount, override)
            if amount is None:
                if explain:
                    ctx.note(scope, "rule", rule.code, "skipped", why)
                continue
            if rule.action == "price_override":
                override = rule.code
            kind = "markup" if amount < 0 else "discount"
        line.running -= amount
        detail = rule.detail
        if coupon_rules and rule.id in coupon_rules:
            detail = {**detail, "coupon": coupon_rules[rule.id]}
        components.append(new_tuple(Component, (kind, -amount, rule.label, rule.code, detail)))
        if rule.coupon_gated:  # only coupons report whether they applied
            applied_rules.add(rule.id)
        if explain:
            ctx.note(scope, "rule", rule.code, "applied", f"{rule.action} {rule.value}: {-amount:+}")
        if combination == "exclusive":
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

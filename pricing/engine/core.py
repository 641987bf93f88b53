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

from oms.kernel.exceptions import ValidationFailed

from .charges import _shipping, _tax_rule
from .context import HUNDRED, MANUAL_KINDS, ZERO, _Ctx, _Line
from .listprice import _convert_qty, _list_price
from .precedence import _check_coupons, _context_rules, _resolve_segments, _resolve_strategies
from .rules import _manual, _order_rules, _price_line_rules
from .snapshot import PricingSnapshot, TaxRuleFacts
from .types import (
    Component,
    CouponCheck,
    LinePrice,
    PriceRequest,
    PriceResult,
    RecurringTotals,
    ShipTo,
    Totals,
)

__all__ = ["MANUAL_KINDS", "price"]


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
        line = _Line(i, req, product, uom, ctx.zero)
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
        line.line_discount = line.list_amount - line.running  # rules and the manual adjustment
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
    new_tuple = tuple.__new__
    for line in lines:
        scope = f"line {line.index + 1}"
        if exempt:
            rate, tax = ZERO, ctx.zero
            line.components.append(Component("tax", ctx.zero, "Tax exempt customer", None, {"exempt": True}))
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
        # Every amount is already in minor units (rounded at its boundary; zeros start quantized).
        net = line.running
        item = line.item
        shipping = line.shipping
        out.append(
            new_tuple(  # LinePrice, positionally (its field order), without the keyword-parsing __new__
                LinePrice,
                (
                    line.index,
                    line.product.sku,
                    line.product.id,
                    line.qty,
                    line.uom,
                    line.charge_type,
                    line.price_list.code if line.price_list else None,
                    (line.list_amount / line.qty) if item or line.source else ZERO,
                    line.list_amount,
                    line.line_discount,
                    line.order_discount,
                    net,
                    shipping,
                    rate,
                    tax,
                    net + shipping + tax,
                    tuple(line.components),
                    line.recurring,
                    line.source,
                    line.manual_reason,
                    line.fx,
                    tuple(line.notes),
                ),
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

"""Shipping for the order (spread over goods lines by largest remainder) and tax rules per line."""

from __future__ import annotations

from oms.kernel.money import allocate

from .context import ZERO, _Ctx, _Line
from .snapshot import ShippingRuleFacts, TaxRuleFacts, in_dates
from .types import Component, ShipTo

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

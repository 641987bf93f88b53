"""The list price of a line: the first (or lowest) list of the strategies in precedence order that
has the product, exact tier arithmetic, converted at the dated rate, rounded once."""

from __future__ import annotations

from decimal import Decimal

from .context import _Ctx, _Line
from .snapshot import ItemFacts, PriceListFacts, ProductFacts, StrategyFacts, in_dates
from .tiers import extended_amount
from .types import Component, FxUse, Recurring

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

"""Stage: the lines. Products (one statement), units (one query) and conversions to the base unit
(one query), however many lines; every refusal names the line and field."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from catalog.models import Product, UnitOfMeasure, UomConversion
from catalog.services import quantity_precision_errors
from oms.kernel import rawrows
from oms.kernel.exceptions import ValidationFailed
from partners.models import Channel

from ....actors import Actor
from ....inputs import LineInput
from ..context import MAX_LINES, Capture


def validate_lines(c: Capture) -> None:
    c.products, c.factors = lines_validate(c.data.lines, c.actor, c.channel)


@functools.lru_cache(maxsize=64)
def _products_query(vendor: str, count: int) -> tuple[str, rawrows.Columns, rawrows.Columns]:
    quote = connection.ops.quote_name
    p, u = rawrows.Columns(Product, "p"), rawrows.Columns(UnitOfMeasure, "u")
    uom, sku = quote(Product._meta.get_field("uom").column), quote(Product._meta.get_field("sku").column)
    sql = (
        f"SELECT {p.sql}, {u.sql} FROM {quote(Product._meta.db_table)} p "  # noqa: S608
        f"JOIN {quote(UnitOfMeasure._meta.db_table)} u ON u.{quote('id')} = p.{uom} "
        f"WHERE p.{sku} IN ({', '.join(['%s'] * count)})"
    )
    return sql, p, u


def products_by_sku(skus: list[str]) -> dict[str, Product]:
    """The lines' products with their base unit, by SKU: one statement, built once per number of
    SKUs (up to 64 shapes kept) -- every capture runs it."""
    if not skus:
        return {}
    sql, p, u = _products_query(connection.vendor, len(skus))
    with connection.cursor() as cursor:
        cursor.execute(sql, skus)
        rows = cursor.fetchall()
    found: dict[str, Product] = {}
    for row in rows:
        product = p.instance(row, 0)
        Product.uom.field.set_cached_value(product, u.instance(row, p.width))
        found[product.sku] = product
    return found


def lines_validate(
    lines: tuple[LineInput, ...], actor: Actor, channel: Channel
) -> tuple[dict[str, Product], dict[tuple[int, str], Decimal]]:
    """Products (one query), units (one query) and conversions to the base unit (one query)."""
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = ["At least one line."]
    elif len(lines) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.source_line_id in seen:
            errors[f"lines[{i}].source_line_id"] = ["Duplicate line id in this order."]
        seen.add(line.source_line_id)
        if line.quantity <= 0:
            errors[f"lines[{i}].quantity"] = ["Must be above zero."]
        if line.unit_price is not None and not channel.trusted_prices:
            errors[f"lines[{i}].unit_price"] = ["This channel may not set prices."]
        if line.manual_adjustment is not None and actor.user is None:
            errors[f"lines[{i}].manual_adjustment"] = ["Only staff may adjust prices."]
    skus = {line.sku.strip().upper() for line in lines}
    products = products_by_sku(sorted(skus))
    uoms = {line.uom.strip().upper() for line in lines if line.uom}
    known_uoms = (
        set(UnitOfMeasure.objects.filter(code__in=uoms).values_list("code", flat=True)) if uoms else set()
    )
    for i, line in enumerate(lines):
        product = products.get(line.sku.strip().upper())
        if product is None:
            errors[f"lines[{i}].sku"] = [f"Unknown SKU '{line.sku}'."]
        elif not product.active:
            errors[f"lines[{i}].sku"] = [f"SKU '{line.sku}' is not sold any more."]
        if line.uom and line.uom.strip().upper() not in known_uoms:
            errors[f"lines[{i}].uom"] = [f"Unknown unit '{line.uom}'."]
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    factors = _conversion_factors(lines, products)
    for i, line in enumerate(lines):
        product = products[line.sku.strip().upper()]
        uom = (line.uom or product.uom.code).strip().upper()
        if (product.pk, uom) not in factors:
            errors[f"lines[{i}].uom"] = [f"{product.sku} is not sold in {uom}."]
    errors.update(
        quantity_precision_errors(
            {
                f"lines[{i}].quantity": (ln.quantity, ln.uom, products[ln.sku.strip().upper()].uom)
                for i, ln in enumerate(lines)
            }
        )
    )
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    return products, factors


def _conversion_factors(
    lines: tuple[LineInput, ...], products: dict[str, Product]
) -> dict[tuple[int, str], Decimal]:
    """(product id, unit) -> base units per unit, for every unit the lines use (one query)."""
    factors: dict[tuple[int, str], Decimal] = {}
    pending: set[tuple[int, str, str]] = set()
    for line in lines:
        product = products[line.sku.strip().upper()]
        uom = (line.uom or product.uom.code).strip().upper()
        if uom == product.uom.code:
            factors[(product.pk, uom)] = Decimal(1)
        else:
            pending.add((product.pk, uom, product.uom.code))
    if not pending:
        return factors
    codes = {u for _, u, _ in pending} | {b for _, _, b in pending}
    rows = UomConversion.objects.filter(
        Q(product__isnull=True) | Q(product_id__in={p for p, _, _ in pending}),
        from_uom__code__in=codes,
        to_uom__code__in=codes,
    ).values_list("product_id", "from_uom__code", "to_uom__code", "factor")
    table: dict[tuple[int | None, str, str], Decimal] = {}
    for product_id, src, dst, factor in rows:
        table[(product_id, src, dst)] = factor
        table[(product_id, dst, src)] = Decimal(1) / factor
    for product_id, uom, base in pending:
        factor = table.get((product_id, uom, base)) or table.get((None, uom, base))
        if factor is not None:
            factors[(product_id, uom)] = factor
    return factors


# --- pricing -------------------------------------------------------------------------------------

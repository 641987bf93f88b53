"""Writes for the catalog, and unit-of-measure conversion."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from oms.kernel.exceptions import ValidationFailed

from .models import Product, UnitOfMeasure, UomConversion

# What staff and imports may change on a product; the SKU is the natural key and never changes.
PRODUCT_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "brand",
        "category",
        "uom",
        "product_type",
        "tax_class",
        "primary_supplier",
        "weight_kg",
        "lot_controlled",
        "active",
    }
)


def _validated_save(product: Product, *, update_fields: list[str] | None = None) -> None:
    try:
        product.full_clean()
    except ValidationError as exc:
        raise ValidationFailed("The product is not valid.", fields=exc.message_dict) from exc
    product.save(update_fields=update_fields)


@transaction.atomic
def product_create(*, sku: str, name: str, **fields: Any) -> Product:
    unknown = set(fields) - PRODUCT_EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown product fields: {', '.join(sorted(unknown))}.")
    product = Product(sku=sku.strip().upper(), name=name.strip(), **fields)
    _validated_save(product)
    return product


@transaction.atomic
def product_update(*, product_id: int, data: Mapping[str, Any]) -> Product:
    unknown = set(data) - PRODUCT_EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"These product fields cannot be changed: {', '.join(sorted(unknown))}.")
    product = Product.objects.select_for_update(of=("self",)).get(pk=product_id)
    for name, value in data.items():
        setattr(product, name, value)
    _validated_save(product, update_fields=[*data, "updated_at"])
    return product


def _uom_code(uom: UnitOfMeasure | str) -> str:
    return uom.code if isinstance(uom, UnitOfMeasure) else uom.strip().upper()


def uom_convert(
    *,
    product: Product | int | None,
    quantity: Decimal,
    from_uom: UnitOfMeasure | str,
    to_uom: UnitOfMeasure | str,
) -> Decimal:
    """`quantity` in `from_uom` expressed in `to_uom`.

    A product's own conversion beats the generic one (a BOX of gloves holds 100, a BOX of drill
    bits 10). A conversion row also works backwards (divide by its factor). Conversions are not
    chained: every pair an order can use is declared, so a missing pair is a data error to fix,
    not something to guess at.
    """
    if isinstance(quantity, float):
        raise TypeError("Quantities are Decimal, never float.")
    quantity = Decimal(quantity)
    src, dst = _uom_code(from_uom), _uom_code(to_uom)
    if src == dst:
        return quantity
    product_id = product.pk if isinstance(product, Product) else product
    scope = Q(product__isnull=True) | Q(product_id=product_id) if product_id else Q(product__isnull=True)
    rows = UomConversion.objects.filter(
        scope,
        Q(from_uom__code=src, to_uom__code=dst) | Q(from_uom__code=dst, to_uom__code=src),
    ).values_list("product_id", "from_uom__code", "factor")
    # Rank: product-specific before generic, then the declared direction before its inverse.
    best = min(rows, key=lambda r: (r[0] is None, r[1] != src), default=None)
    if best is None:
        raise ValidationFailed(
            f"No conversion from {src} to {dst}.",
            fields={"uom": [f"No conversion from {src} to {dst} for this product."]},
        )
    _, direction_from, factor = best
    return quantity * factor if direction_from == src else quantity / factor


# --- unit precision -------------------------------------------------------------------------------


def quantity_precision_error(quantity: Decimal, unit: UnitOfMeasure) -> str | None:
    """Why `quantity` cannot be expressed in `unit` (more decimals than the unit takes), or None.

    The one rule for every place a quantity comes in: order capture (staff UI, API, import),
    stock adjustments and receipts. The text names the unit, for people."""
    if not isinstance(quantity, Decimal) or not quantity.is_finite():
        return None  # not a number at all: the caller's own check says so
    places = unit.decimal_places
    exponent = quantity.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent <= places:
        return None
    if places == 0:
        return f"{unit.code} is counted in whole units."
    return f"{unit.code} is measured to at most {places} decimal{'s' if places > 1 else ''}."


def quantity_precision_errors(
    quantities: Mapping[str, tuple[Decimal, str, UnitOfMeasure]],
) -> dict[str, list[str]]:
    """{field: [message]} for the quantities their unit refuses.

    `quantities` maps a field path to (quantity, the unit code it was given in -- empty for the
    base unit --, the product's base unit). Units other than the base unit are read in one query,
    and only when some quantity uses one."""
    wanted: dict[str, tuple[Decimal, str | UnitOfMeasure]] = {}
    for path, (quantity, code, base) in quantities.items():
        code = (code or "").strip().upper()
        wanted[path] = (quantity, base if not code or code == base.code else code)
    codes = {unit for _, unit in wanted.values() if isinstance(unit, str)}
    units = {u.code: u for u in UnitOfMeasure.objects.filter(code__in=codes)} if codes else {}
    errors: dict[str, list[str]] = {}
    for path, (quantity, unit) in wanted.items():
        resolved = unit if isinstance(unit, UnitOfMeasure) else units.get(unit)
        if resolved is None:
            continue  # an unknown unit is reported by the caller's unit check
        problem = quantity_precision_error(quantity, resolved)
        if problem:
            errors[path] = [problem]
    return errors


def base_quantities_check(quantities: Mapping[str, tuple[int, Decimal]]) -> None:
    """Refuse quantities in the products' base units (stock is kept in them) with more decimals
    than the unit takes: `quantities` maps a field path to (product id, quantity). One query."""
    if not quantities:
        return
    ids = {product_id for product_id, _ in quantities.values()}
    base = {p.pk: p.uom for p in Product.objects.filter(pk__in=ids).select_related("uom")}
    errors: dict[str, list[str]] = {}
    for path, (product_id, quantity) in quantities.items():
        unit = base.get(product_id)
        problem = quantity_precision_error(quantity, unit) if unit is not None else None
        if problem:
            errors[path] = [problem]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)

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

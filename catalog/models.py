"""Products and the reference data they point at: brands, categories, suppliers, units, tax classes.

Invariants live here as constraints (unique SKU, product type, positive conversion factors);
writes go through `catalog.services`.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact


class TaxClass(models.Model):
    """A product tax category (standard, reduced, exempt); pricing maps it to rates per country."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "tax classes"

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Supplier(models.Model):
    """Who we buy from (purchase orders, rebate programs); not a system partner that calls us."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=160)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US, NL.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("country"), 2) & Exact(Upper("country"), F("country")),
                name="supplier_country_iso2",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class UnitOfMeasure(models.Model):
    code = models.CharField(max_length=10, unique=True, help_text="EA, BOX, CS, KG ...")
    name = models.CharField(max_length=60)
    # A unit's precision: counted units (EA, BOX, CS) take whole numbers, measured ones (KG, L, M)
    # three decimals. Capture, the API and inventory all check quantities against it
    # (catalog.services.quantity_precision_errors).
    decimal_places = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(4)],
        help_text="Decimals a quantity in this unit may have: 0 for counted units (EA), 3 for KG.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "unit of measure"
        verbose_name_plural = "units of measure"
        constraints = [
            models.CheckConstraint(condition=Q(decimal_places__lte=4), name="uom_decimal_places_at_most_4"),
        ]

    def __str__(self) -> str:
        return self.code


class ProductType(models.TextChoices):
    GOODS = "goods", "Goods"
    SERVICE = "service", "Service"  # never stocked, never shipped (installation, warranty, ...)


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    uom = models.ForeignKey(
        UnitOfMeasure,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="base unit",
        help_text="The unit stock is kept in; order quantities in other units are converted to it.",
    )
    product_type = models.CharField(max_length=10, choices=ProductType.choices, default=ProductType.GOODS)
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, related_name="products")
    primary_supplier = models.ForeignKey(
        Supplier, on_delete=models.SET_NULL, null=True, blank=True, related_name="products"
    )
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=12,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    lot_controlled = models.BooleanField(default=False, help_text="Stock is tracked by lot/batch.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(product_type__in=ProductType.values), name="product_type_valid"
            ),
            models.CheckConstraint(condition=Q(weight_kg__gte=0), name="product_weight_not_negative"),
        ]
        indexes = [models.Index(fields=["brand", "category"], name="product_brand_category")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class UomConversion(models.Model):
    """`1 from_uom = factor to_uom`. A row with a product overrides the generic row (product empty)."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="uom_conversions"
    )
    from_uom = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    to_uom = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    factor = models.DecimalField(max_digits=20, decimal_places=6)

    class Meta:
        verbose_name = "UOM conversion"
        constraints = [
            models.CheckConstraint(condition=Q(factor__gt=0), name="uom_conversion_factor_positive"),
            models.CheckConstraint(condition=~Q(from_uom=F("to_uom")), name="uom_conversion_distinct_units"),
            # NULL product means "generic"; NULLs are distinct in a plain unique index, so the
            # generic rows get their own partial constraint.
            models.UniqueConstraint(
                fields=["product", "from_uom", "to_uom"],
                condition=Q(product__isnull=False),
                name="uom_conversion_unique_per_product",
            ),
            models.UniqueConstraint(
                fields=["from_uom", "to_uom"],
                condition=Q(product__isnull=True),
                name="uom_conversion_unique_generic",
            ),
        ]

    def __str__(self) -> str:
        scope = self.product.sku if self.product_id else "all products"
        return f"1 {self.from_uom} = {self.factor} {self.to_uom} ({scope})"

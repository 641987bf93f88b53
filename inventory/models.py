"""Warehouses, stock positions and the append-only movement ledger.

A position's on-hand is the sum of its movements; the database forbids negative on-hand and
reserving more than is on hand. Quantities are in the product's base unit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Product

QUANTITY = {"max_digits": 20, "decimal_places": 4}


class WarehouseType(models.TextChoices):
    DISTRIBUTION_CENTER = "distribution_center", "Distribution center"
    STORE = "store", "Store"
    SUPPLIER = "supplier", "Supplier (drop ship)"
    IN_TRANSIT = "in_transit", "In transit"


class Warehouse(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(
        max_length=20, choices=WarehouseType.choices, default=WarehouseType.DISTRIBUTION_CENTER
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    region = models.CharField(max_length=100, blank=True, default="")
    postcode = models.CharField(max_length=20, blank=True, default="")
    # Used by sourcing to rank warehouses by distance to the ship-to.
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=WarehouseType.values), name="warehouse_type_valid"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="warehouse_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="warehouse_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StockPosition(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_positions")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_positions")
    on_hand = models.DecimalField(**QUANTITY, default=0)
    reserved = models.DecimalField(**QUANTITY, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_position_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]
        indexes = [models.Index(fields=["warehouse", "product"], name="stock_position_by_warehouse")]

    def __str__(self) -> str:
        # Callers listing positions select_related product and warehouse (the admin does).
        return f"{self.product.sku} @ {self.warehouse.code}"

    @property
    def available(self):
        return self.on_hand - self.reserved


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SHIPMENT = "shipment", "Shipment"
    ADJUSTMENT = "adjustment", "Adjustment"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    RETURN = "return", "Customer return"
    CYCLE_COUNT = "cycle_count", "Cycle count correction"


class AppendOnlyError(Exception):
    pass


class StockMovement(models.Model):
    """One change to on-hand, signed (receipts positive, shipments negative). Never edited."""

    position = models.ForeignKey(StockPosition, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.DecimalField(**QUANTITY)
    reason = models.CharField(max_length=200, blank=True, default="")
    reference = models.CharField(
        max_length=100, blank=True, default="", help_text="PO, shipment, transfer or count number"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MovementKind.values), name="stock_movement_kind_valid"
            ),
            models.CheckConstraint(condition=~Q(quantity=0), name="stock_movement_not_zero"),
        ]
        indexes = [models.Index(fields=["reference"], name="stock_movement_reference")]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} ({self.reference})"

    def save(self, *args, **kwargs):
        # The ledger is the audit trail behind on-hand: corrections are new movements.
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Stock movements are append-only; record a correcting movement.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Stock movements are append-only.")

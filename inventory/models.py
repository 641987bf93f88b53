"""Warehouses, stock positions and the append-only movement ledger.

A position's on-hand is the sum of its movements; the database forbids negative on-hand and
reserving more than is on hand. Quantities are in the product's base unit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Category, Product, Supplier
from customers.models import DemandClass
from partners.models import Channel

from .states import (
    DemandStatus,
    PurchaseOrderStatus,
    ReservationStatus,
    TransferStatus,
)

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
    # Orders released after the cut-off ship the next working day (ISO weekdays, 1 = Monday).
    shipping_cutoff = models.TimeField(null=True, blank=True)
    working_days = models.CharField(max_length=7, default="12345", help_text="ISO weekdays, e.g. 12345")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=WarehouseType.values), name="warehouse_type_valid"),
            models.CheckConstraint(
                condition=Q(working_days__regex=r"^[1-7]{1,7}$"), name="warehouse_working_days_valid"
            ),
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


# --- reservations and back-orders ------------------------------------------------------------


DEMAND_CLASS_RANK = {DemandClass.STANDARD: 0, DemandClass.PRIORITY: 1, DemandClass.STRATEGIC: 2}


class Reservation(models.Model):
    """Stock set aside for one piece of demand. The demand is an opaque reference (an order line,
    a fulfillment line, a transfer): inventory sits below the apps that own demand."""

    position = models.ForeignKey(StockPosition, on_delete=models.PROTECT, related_name="reservations")
    demand_type = models.CharField(max_length=40)
    demand_id = models.CharField(max_length=64)
    quantity = models.DecimalField(**QUANTITY)
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    demand_class = models.CharField(max_length=20, choices=DemandClass.choices, default=DemandClass.STANDARD)
    need_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReservationStatus.values), name="reservation_status_valid"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["demand_type", "demand_id"], name="reservation_by_demand"),
            models.Index(fields=["position", "status"], name="reservation_by_position"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} for {self.demand_type}:{self.demand_id} ({self.status})"


class Demand(models.Model):
    """A back-order: demand that could not reserve. It counts against ATP at its need date and
    against the reorder scan's inventory position, and reserves when supply is received."""

    demand_type = models.CharField(max_length=40)
    demand_id = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="backorders")
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="backorders",
        help_text="Empty: any warehouse may serve it.",
    )
    quantity = models.DecimalField(**QUANTITY)
    demand_class = models.CharField(max_length=20, choices=DemandClass.choices, default=DemandClass.STANDARD)
    need_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DemandStatus.choices, default=DemandStatus.OPEN)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DemandStatus.values), name="demand_status_valid"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="demand_quantity_positive"),
            models.UniqueConstraint(
                fields=["demand_type", "demand_id"],
                condition=Q(status="open"),
                name="demand_one_open_per_reference",
            ),
        ]
        indexes = [models.Index(fields=["product", "status"], name="demand_by_product")]

    def __str__(self) -> str:
        return f"back-order {self.quantity} x {self.product_id} for {self.demand_type}:{self.demand_id}"


class ChannelWarehouse(models.Model):
    """The warehouses a channel sells from, best first (partners sits below inventory)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="channel_rankings")
    rank = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["channel", "rank", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "warehouse"], name="channel_warehouse_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} #{self.rank}: {self.warehouse_id}"


class AllocationRule(models.Model):
    """Hold back `share_percent` of supply for `demand_class` (and above): lower classes do not see it.

    Scope: a product, else a category, else everything; the most specific rule per demand class wins.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    demand_class = models.CharField(max_length=20, choices=DemandClass.choices)
    share_percent = models.DecimalField(max_digits=5, decimal_places=2)
    # The share is released to every class this many days before the next scheduled receipt
    # (replenishment is near); empty: held until the stock is gone.
    release_days_before_receipt = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(share_percent__gt=0, share_percent__lte=100), name="allocation_share_range"
            ),
            models.CheckConstraint(
                condition=Q(product__isnull=True) | Q(category__isnull=True), name="allocation_one_scope"
            ),
            models.CheckConstraint(
                condition=Q(demand_class__in=DemandClass.values), name="allocation_demand_class_valid"
            ),
        ]

    def __str__(self) -> str:
        scope = (
            f"product {self.product_id}"
            if self.product_id
            else (f"category {self.category_id}" if self.category_id else "all")
        )
        return f"{self.share_percent}% for {self.demand_class} ({scope})"


# --- replenishment -----------------------------------------------------------------------------


class ReorderRule(models.Model):
    """When inventory position <= reorder point, order up to `order_up_to` or a fixed quantity,
    at least `min_order_quantity`, rounded up to `lot_multiple`."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reorder_rules")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="reorder_rules")
    reorder_point = models.DecimalField(**QUANTITY)
    safety_stock = models.DecimalField(**QUANTITY, default=0)
    order_up_to = models.DecimalField(**QUANTITY, null=True, blank=True)
    fixed_order_quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    lot_multiple = models.DecimalField(**QUANTITY, default=1)
    min_order_quantity = models.DecimalField(**QUANTITY, default=0)
    preferred_supplier = models.ForeignKey(
        Supplier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the product's primary supplier.",
    )
    lead_time_days = models.PositiveIntegerField(default=7)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="reorder_rule_unique"),
            models.CheckConstraint(
                condition=(Q(order_up_to__isnull=False) & Q(fixed_order_quantity__isnull=True))
                | (Q(order_up_to__isnull=True) & Q(fixed_order_quantity__gt=0)),
                name="reorder_rule_one_policy",
            ),
            models.CheckConstraint(
                condition=Q(
                    reorder_point__gte=0, safety_stock__gte=0, min_order_quantity__gte=0, lot_multiple__gt=0
                ),
                name="reorder_rule_quantities_valid",
            ),
            models.CheckConstraint(
                condition=Q(order_up_to__isnull=True) | Q(order_up_to__gt=F("reorder_point")),
                name="reorder_rule_max_above_point",
            ),
        ]

    def __str__(self) -> str:
        return f"reorder {self.product_id}@{self.warehouse_id} at {self.reorder_point}"


class PurchaseOrderKind(models.TextChoices):
    STANDARD = "standard", "Stock replenishment"
    BACK_TO_BACK = "back_to_back", "Back-to-back (for one demand line)"
    DROP_SHIP = "drop_ship", "Drop ship (supplier ships to the customer)"


class PurchaseOrder(models.Model):
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(
        max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT
    )
    kind = models.CharField(
        max_length=20, choices=PurchaseOrderKind.choices, default=PurchaseOrderKind.STANDARD
    )
    # Set by the reorder scan: its drafts are topped up, one per supplier x warehouse.
    from_reorder_scan = models.BooleanField(default=False)
    demand_type = models.CharField(max_length=40, blank=True, default="")
    demand_id = models.CharField(max_length=64, blank=True, default="")
    ship_to = models.TextField(blank=True, default="", help_text="Drop ship: the customer's address.")
    expected_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PurchaseOrderStatus.values), name="purchase_order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PurchaseOrderKind.values), name="purchase_order_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="standard") | ~Q(demand_id=""), name="purchase_order_demand_for_b2b_ds"
            ),
            models.UniqueConstraint(
                fields=["supplier", "warehouse"],
                condition=Q(status="draft", from_reorder_scan=True),
                name="purchase_order_one_scan_draft",
            ),
        ]
        indexes = [models.Index(fields=["status", "warehouse"], name="purchase_order_by_status")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"PO-{self.pk:06d}"


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.DecimalField(**QUANTITY)
    quantity_received = models.DecimalField(**QUANTITY, default=0)
    unit_cost = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    expected_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="purchase_order_line_unique"),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="po_line_ordered_positive"),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0), name="po_line_received_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["product", "purchase_order"], name="po_line_by_product")]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity_ordered}"

    @property
    def quantity_open(self):
        return max(self.quantity_ordered - self.quantity_received, 0)


class Transfer(models.Model):
    from_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_out")
    to_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=12, choices=TransferStatus.choices, default=TransferStatus.DRAFT)
    expected_arrival = models.DateField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TransferStatus.values), name="transfer_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_warehouse=F("to_warehouse")), name="transfer_between_two_warehouses"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"TR-{self.pk:06d}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QUANTITY)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transfer_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity}"


class DocumentEvent(models.Model):
    """Audit row for every transition of a purchase order or transfer: who, what, when, before/after."""

    document_type = models.CharField(max_length=20)  # "purchase_order" | "transfer"
    document_id = models.BigIntegerField()
    action = models.CharField(max_length=40)
    before = models.CharField(max_length=20, blank=True, default="")
    after = models.CharField(max_length=20, blank=True, default="")
    note = models.CharField(max_length=300, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["document_type", "document_id"], name="document_event_by_doc")]

    def __str__(self) -> str:
        return f"{self.document_type} {self.document_id}: {self.before} -> {self.after}"

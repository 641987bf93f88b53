from decimal import Decimal

from django.contrib import admin

from oms.kernel.exceptions import DomainError

from .models import (
    AllocationRule,
    ChannelWarehouse,
    Demand,
    DocumentEvent,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    Reservation,
    StockMovement,
    StockPosition,
    Transfer,
    TransferLine,
    Warehouse,
)
from .selectors import low_stock_positions
from .services import purchase_order_transition, reorder_scan
from .states import PurchaseOrderStatus


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "type", "country", "region", "postcode", "active"]
    list_filter = ["type", "country", "active"]
    search_fields = ["code", "name", "region", "postcode"]


class StockMovementInline(admin.TabularInline):
    model = StockMovement
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "quantity", "reference", "reason", "user"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StockPosition)
class StockPositionAdmin(admin.ModelAdmin):
    list_display = ["product", "warehouse", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku", "product__name", "warehouse__code"]
    list_select_related = ["product", "warehouse"]
    # Quantities change only through inventory services (which write the ledger), never by hand.
    readonly_fields = ["product", "warehouse", "on_hand", "reserved", "updated_at"]
    inlines = [StockMovementInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="available")
    def available(self, obj: StockPosition):
        return obj.available


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger is append-only: this screen only reads it."""

    list_display = ["created_at", "kind", "quantity", "position", "reference", "reason", "user"]
    list_filter = ["kind", "position__warehouse"]
    search_fields = ["reference", "reason", "position__product__sku"]
    list_select_related = ["position__product", "position__warehouse", "user"]
    readonly_fields = ["position", "kind", "quantity", "reason", "reference", "user", "created_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- reservations, back-orders, allocation ---------------------------------------------------------


class LowStockFilter(admin.SimpleListFilter):
    """Positions no reorder rule covers and that have nothing (or nearly nothing) left to sell."""

    title = "low stock (no reorder rule)"
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("0", "available <= 0"), ("5", "available <= 5")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        low = low_stock_positions(threshold=Decimal(self.value()))
        return queryset.filter(pk__in=low.values("pk"))


StockPositionAdmin.list_filter = [LowStockFilter, "warehouse"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Reservations change only through services (release, consume, move); this screen reads."""

    list_display = [
        "pk",
        "position",
        "demand_type",
        "demand_id",
        "quantity",
        "status",
        "demand_class",
        "need_date",
    ]
    list_filter = ["status", "demand_class"]
    search_fields = ["demand_id", "position__product__sku"]
    list_select_related = ["position__product", "position__warehouse"]
    readonly_fields = [f.name for f in Reservation._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Demand)
class DemandAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "product",
        "warehouse",
        "quantity",
        "demand_class",
        "need_date",
        "status",
        "demand_id",
    ]
    list_filter = ["status", "demand_class", "warehouse"]
    search_fields = ["demand_id", "product__sku"]
    list_select_related = ["product", "warehouse"]
    readonly_fields = [f.name for f in Demand._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ChannelWarehouse)
class ChannelWarehouseAdmin(admin.ModelAdmin):
    list_display = ["channel", "rank", "warehouse"]
    list_filter = ["channel"]
    ordering = ["channel", "rank"]


@admin.register(AllocationRule)
class AllocationRuleAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "demand_class",
        "share_percent",
        "release_days_before_receipt",
        "product",
        "category",
        "active",
    ]
    list_filter = ["demand_class", "active"]
    autocomplete_fields = ["product"]


# --- replenishment ----------------------------------------------------------------------------------


@admin.register(ReorderRule)
class ReorderRuleAdmin(admin.ModelAdmin):
    list_display = [
        "product",
        "warehouse",
        "reorder_point",
        "safety_stock",
        "order_up_to",
        "fixed_order_quantity",
        "lot_multiple",
        "min_order_quantity",
        "preferred_supplier",
        "lead_time_days",
        "active",
    ]
    list_filter = ["warehouse", "active"]
    search_fields = ["product__sku"]
    list_select_related = ["product", "warehouse", "preferred_supplier"]
    autocomplete_fields = ["product"]
    actions = ["run_reorder_scan"]

    @admin.action(description="Run the reorder scan now (all rules)")
    def run_reorder_scan(self, request, queryset):
        result = reorder_scan()
        self.message_user(
            request,
            f"{result.purchase_orders_created} PO(s) created, {result.lines_created} line(s) added, "
            f"{result.lines_topped_up} topped up.",
        )


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    fields = ["product", "quantity_ordered", "quantity_received", "unit_cost", "expected_date"]
    readonly_fields = ["quantity_received"]
    autocomplete_fields = ["product"]


def _transition_action(target: str, label: str):
    def action(modeladmin, request, queryset):
        done, refused = 0, 0
        for po in queryset.order_by("pk"):
            try:
                purchase_order_transition(purchase_order_id=po.pk, target=target, actor=request.user)
                done += 1
            except DomainError:
                refused += 1
        modeladmin.message_user(request, f"{done} purchase order(s) {label}; {refused} refused.")

    action.__name__ = f"po_to_{target}"
    return admin.action(description=f"Mark selected as {label}")(action)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "supplier", "warehouse", "status", "kind", "expected_date", "from_reorder_scan"]
    list_filter = ["status", "kind", "warehouse", "from_reorder_scan"]
    search_fields = ["demand_id", "supplier__name"]
    list_select_related = ["supplier", "warehouse"]
    readonly_fields = ["status", "from_reorder_scan", "created_at", "updated_at"]
    inlines = [PurchaseOrderLineInline]
    actions = [
        _transition_action(PurchaseOrderStatus.APPROVED, "approved"),
        _transition_action(PurchaseOrderStatus.SENT, "sent"),
        _transition_action(PurchaseOrderStatus.CANCELED, "canceled"),
        _transition_action(PurchaseOrderStatus.CLOSED, "closed"),
    ]


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["number", "from_warehouse", "to_warehouse", "status", "expected_arrival", "shipped_at"]
    list_filter = ["status", "from_warehouse", "to_warehouse"]
    list_select_related = ["from_warehouse", "to_warehouse"]
    readonly_fields = ["status", "shipped_at", "received_at", "created_at"]
    inlines = [TransferLineInline]


@admin.register(DocumentEvent)
class DocumentEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "document_type", "document_id", "action", "before", "after", "user"]
    list_filter = ["document_type", "action"]
    readonly_fields = [f.name for f in DocumentEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin

from .models import StockMovement, StockPosition, Warehouse


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

from django.contrib import admin, messages

from oms.kernel.exceptions import DomainError

from .models import Invoice, InvoiceLine
from .services import invoice_mark_paid


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "order_line",
        "fulfillment_ref",
        "quantity",
        "unit_net_price",
        "net",
        "shipping",
        "tax",
        "total",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "order_number",
        "customer",
        "status",
        "currency",
        "total",
        "due_date",
        "issued_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["number", "order_number", "customer__name"]
    readonly_fields = [f.name for f in Invoice._meta.fields]
    inlines = [InvoiceLineInline]
    actions = ["mark_paid"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark paid")
    def mark_paid(self, request, queryset):
        for invoice in queryset:
            try:
                invoice_mark_paid(invoice_id=invoice.pk)
            except DomainError as exc:
                self.message_user(request, f"{invoice}: {exc.message}", messages.ERROR)

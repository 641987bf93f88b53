"""Console screens: hold codes, compliance lists, approval and defaulting rules, channel policies;
orders read-only with their lines, holds and audit trail; the staff upload of legacy order files."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from oms.kernel.exceptions import ValidationFailed
from partners.models import Channel

from .actors import Actor
from .importing import orders_import, parse_orders
from .models import (
    ApprovalRule,
    ChannelOrderPolicy,
    DefaultingRule,
    EmbargoedCountry,
    HoldCode,
    OrderEvent,
    OrderHold,
    OrderLine,
    RestrictedParty,
    SalesOrder,
)
from .services import compliance_holds_recheck


@admin.register(HoldCode)
class HoldCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "stops", "is_system", "active"]
    list_filter = ["stops", "is_system", "active"]


@admin.action(description="Screen orders on compliance hold again (release cleared holds)")
def rescreen_held_orders(modeladmin, request, queryset):
    released = compliance_holds_recheck()
    messages.info(request, f"{len(released)} compliance hold(s) released.")


@admin.register(RestrictedParty)
class RestrictedPartyAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "source", "active"]
    search_fields = ["name", "normalized_name"]
    list_filter = ["active", "country"]
    actions = [rescreen_held_orders]


@admin.register(EmbargoedCountry)
class EmbargoedCountryAdmin(admin.ModelAdmin):
    list_display = ["country", "policy", "active"]
    actions = [rescreen_held_orders]


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "threshold", "threshold_currency", "channel", "active"]
    list_filter = ["kind", "active"]


@admin.register(DefaultingRule)
class DefaultingRuleAdmin(admin.ModelAdmin):
    list_display = ["field", "value", "channel", "country", "active"]
    list_filter = ["field", "active"]


@admin.register(ChannelOrderPolicy)
class ChannelOrderPolicyAdmin(admin.ModelAdmin):
    list_display = ["channel", "shortage_policy", "restricted_party_policy"]


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ["line_number", "source_line_id", "product", "quantity", "uom", "unit_net_price", "line_total",
              "status", "shipped_quantity", "billed_quantity"]  # fmt: skip


class OrderHoldInline(_ReadOnlyInline):
    model = OrderHold
    fields = ["hold_code", "line", "reason", "applied_by", "applied_at", "released_by", "released_at"]


class OrderEventInline(_ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "kind", "actor", "before", "after", "reason", "correlation_id"]


class OrderImportForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=Channel.objects.filter(active=True), to_field_name="code")
    file = forms.FileField(help_text="CSV (one row per line) or JSON (a list of orders), UTF-8.")


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin):
    """Read-only: orders change through the services (API, staff UI), never by editing rows."""

    list_display = ["number", "revision", "is_current", "channel", "source_order_id", "customer", "status",
                    "total", "currency", "created_at"]  # fmt: skip
    list_filter = ["status", "channel", "is_current"]
    search_fields = ["number", "source_order_id", "customer__account_number", "customer__email"]
    list_select_related = ["channel", "customer"]
    inlines = [OrderLineInline, OrderHoldInline, OrderEventInline]
    change_list_template = "orders/admin/salesorder_changelist.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # an order is canceled through its lifecycle, never deleted (no "Delete selected")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in SalesOrder._meta.fields]

    def get_urls(self):
        extra = [
            path("import/", self.admin_site.admin_view(self.import_view), name="orders_salesorder_import")
        ]
        return extra + super().get_urls()

    def import_view(self, request):
        if not request.user.has_perm("orders.add_salesorder"):
            raise DjangoPermissionDenied
        results = None
        form = OrderImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                bodies = parse_orders(text=upload.read().decode("utf-8"), filename=upload.name)
            except (ValidationFailed, UnicodeDecodeError) as exc:
                messages.error(request, f"The file cannot be read: {exc}")
            else:
                results = orders_import(
                    channel=form.cleaned_data["channel"], bodies=bodies, actor=Actor.for_user(request.user)
                )
                accepted = sum(r["result"] == "accepted" for r in results)
                messages.info(request, f"{accepted} of {len(results)} orders accepted.")
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "results": results, "title": "Import orders"}  # fmt: skip
        return TemplateResponse(request, "orders/admin/import.html", context)

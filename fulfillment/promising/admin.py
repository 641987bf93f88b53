"""The promising console: sourcing rules with their ranked sources, facility capacity calendars,
and the promises made (read-only, with their trace)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from .models import FacilityCapacity, LinePromise, SourcingRule, SourcingRuleSource


class SourceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            f
            for f in self.forms
            if getattr(f, "cleaned_data", None)
            and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("warehouse")
        ]
        if not kept:
            raise forms.ValidationError("A sourcing rule needs at least one source.")
        ranks = [f.cleaned_data.get("rank") for f in kept]
        if len(set(ranks)) != len(ranks):
            raise forms.ValidationError("Two sources of one rule share a rank.")


class SourceInline(admin.TabularInline):
    model = SourcingRuleSource
    formset = SourceFormSet
    extra = 1
    min_num = 1
    fields = [
        "rank",
        "warehouse",
        "transit_days",
        "lead_time_days",
        "shipping_cost",
        "transfer_cost",
        "unit_cost",
        "currency",
    ]
    autocomplete_fields = ["warehouse"]


@admin.register(SourcingRule)
class SourcingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "region", "postcode_from", "postcode_to", "category", "product",
                    "effective_from", "effective_to", "ranking", "active"]  # fmt: skip
    list_filter = ["active", "ranking", "country"]
    search_fields = ["name", "product__sku", "region", "postcode_from"]
    autocomplete_fields = ["product"]
    inlines = [SourceInline]
    fieldsets = [
        (None, {"fields": ["name", "active", "ranking", "min_split_quantity"]}),
        ("Destination", {"fields": ["country", "region", "postcode_from", "postcode_to"]}),
        ("Item (optional)", {"fields": ["category", "product"]}),
        ("Effective", {"fields": ["effective_from", "effective_to"]}),
    ]


@admin.register(FacilityCapacity)
class FacilityCapacityAdmin(admin.ModelAdmin):
    list_display = ["warehouse", "unit", "daily_limit", "valid_from", "valid_to"]
    list_filter = ["unit", "warehouse"]


@admin.register(LinePromise)
class LinePromiseAdmin(admin.ModelAdmin):
    list_display = ["fulfillment_line", "order_number", "status", "mode", "warehouse", "scheduled_ship_date",
                    "promised_date"]  # fmt: skip
    list_filter = ["status", "mode"]
    search_fields = ["order_number"]
    readonly_fields = [f.name for f in LinePromise._meta.fields]

    def has_add_permission(self, request):
        return False

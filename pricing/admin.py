"""The pricing admin's console: lists and tiers, segments and strategies, rules and coupons, tax,
shipping, exchange rates, the guardrail. Saves bump the rule set version (every process reloads)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from import_export.admin import ImportExportModelAdmin

from .models import (
    AdjustmentReason,
    Coupon,
    CouponRedemption,
    DiscountRule,
    ExchangeRate,
    PriceList,
    PriceListItem,
    PriceListStatus,
    PriceQuote,
    PriceTier,
    PricingPolicy,
    PricingRulesetVersion,
    PricingSegment,
    PricingStrategy,
    SegmentMembership,
    ShippingRule,
    StrategyAssignment,
    StrategyPriceList,
    TaxRule,
    tiers_validate,
)
from .resources import ExchangeRateResource, PriceListItemResource
from .snapshot import ruleset_version_bump


class BumpsRuleset:
    """Model signals bump on each row; this bumps once more after the form's M2M and inlines."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        ruleset_version_bump()


@admin.register(PriceList)
class PriceListAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = ["code", "name", "currency", "status", "valid_from", "valid_to"]
    list_filter = ["status", "currency"]
    search_fields = ["code", "name"]
    actions = ["activate", "deactivate"]

    @admin.action(description="Activate selected price lists")
    def activate(self, request, queryset):
        for plist in queryset:
            plist.status = PriceListStatus.ACTIVE
            plist.save(update_fields=["status", "updated_at"])

    @admin.action(description="Deactivate selected price lists")
    def deactivate(self, request, queryset):
        for plist in queryset:
            plist.status = PriceListStatus.INACTIVE
            plist.save(update_fields=["status", "updated_at"])


class TierFormSet(BaseInlineFormSet):
    """Bands must start at 0, follow each other without gap or overlap, and end open."""

    def clean(self):
        super().clean()
        bands = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or data.get("lower") is None:
                continue
            bands.append((data["lower"], data.get("upper")))
        problems = tiers_validate(bands)
        if problems:
            raise ValidationError(problems)


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    formset = TierFormSet
    extra = 0
    fields = ["lower", "upper", "unit_price"]


@admin.register(PriceListItem)
class PriceListItemAdmin(BumpsRuleset, ImportExportModelAdmin):
    resource_classes = [PriceListItemResource]
    list_display = ["price_list", "product", "uom", "unit_price", "tier_mode", "tier_basis", "charge_type"]
    list_filter = ["price_list", "tier_mode", "tier_basis", "charge_type"]
    search_fields = ["product__sku", "product__name", "price_list__code"]
    list_select_related = ["price_list", "product", "uom"]
    autocomplete_fields = ["price_list", "product"]
    inlines = [PriceTierInline]
    show_full_result_count = False


class SegmentMembershipInline(admin.TabularInline):
    model = SegmentMembership
    extra = 0
    autocomplete_fields = ["customer"]


@admin.register(PricingSegment)
class PricingSegmentAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "priority",
        "demand_class",
        "customer_kind",
        "channel",
        "country",
        "active",
    ]
    list_filter = ["active", "demand_class", "customer_kind"]
    search_fields = ["code", "name"]
    inlines = [SegmentMembershipInline]


class StrategyPriceListInline(admin.TabularInline):
    model = StrategyPriceList
    extra = 0
    autocomplete_fields = ["price_list"]


class StrategyAssignmentInline(admin.TabularInline):
    model = StrategyAssignment
    extra = 0
    fields = ["level", "customer", "segment", "channel", "valid_from", "valid_to"]
    autocomplete_fields = ["customer", "segment", "channel"]


@admin.register(PricingStrategy)
class PricingStrategyAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = ["code", "name", "list_selection", "active"]
    list_filter = ["active", "list_selection"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["rules"]
    inlines = [StrategyPriceListInline, StrategyAssignmentInline]


@admin.register(StrategyAssignment)
class StrategyAssignmentAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = ["strategy", "level", "customer", "segment", "channel", "valid_from", "valid_to"]
    list_filter = ["level", "strategy"]
    list_select_related = ["strategy", "customer", "segment", "channel"]
    autocomplete_fields = ["strategy", "customer", "segment", "channel"]


class CouponInline(admin.TabularInline):
    model = Coupon
    extra = 0
    fields = ["code", "active", "max_uses", "max_uses_per_customer", "times_used", "valid_from", "valid_to"]
    readonly_fields = ["times_used"]


@admin.register(DiscountRule)
class DiscountRuleAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "level",
        "action",
        "value",
        "combination",
        "apply_on",
        "priority",
        "active",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["active", "level", "action", "combination", "apply_on"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["products", "categories", "brands", "customers", "segments", "channels"]
    inlines = [CouponInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "active", "priority", "valid_from", "valid_to"]}),
        (
            "What it does",
            {"fields": ["level", "action", "value", "currency", "buy_quantity", "get_quantity"]},
        ),
        ("How it combines", {"fields": ["combination", "apply_on"]}),
        (
            "When it applies (every condition set must hold)",
            {
                "fields": [
                    "products",
                    "categories",
                    "brands",
                    "customers",
                    "segments",
                    "channels",
                    "min_quantity",
                    "min_order_quantity",
                    "min_order_amount",
                ],
            },
        ),
    ]


class CouponRedemptionInline(admin.TabularInline):
    model = CouponRedemption
    extra = 0
    fields = ["order_ref", "customer", "redeemed_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Coupon)
class CouponAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = [
        "code",
        "rule",
        "active",
        "times_used",
        "max_uses",
        "max_uses_per_customer",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["active"]
    search_fields = ["code", "rule__code"]
    autocomplete_fields = ["rule"]
    readonly_fields = ["times_used"]
    inlines = [CouponRedemptionInline]


@admin.register(TaxRule)
class TaxRuleAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = ["name", "country", "region", "tax_class", "rate", "valid_from", "valid_to"]
    list_filter = ["country", "tax_class"]
    search_fields = ["name", "country", "region"]


@admin.register(ShippingRule)
class ShippingRuleAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = [
        "name",
        "ship_method",
        "country",
        "region",
        "currency",
        "min_weight_kg",
        "max_weight_kg",
        "flat_amount",
        "per_kg_amount",
        "free_over_amount",
        "taxable",
        "active",
    ]
    list_filter = ["ship_method", "country", "active", "taxable"]
    search_fields = ["name", "ship_method"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(BumpsRuleset, ImportExportModelAdmin):
    resource_classes = [ExchangeRateResource]
    list_display = ["base", "quote", "rate", "valid_on"]
    list_filter = ["base", "quote"]
    search_fields = ["base", "quote"]
    date_hierarchy = "valid_on"


@admin.register(PricingPolicy)
class PricingPolicyAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = ["__str__", "max_manual_discount_percent"]

    def has_add_permission(self, request):
        return not PricingPolicy.objects.exists()

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # one row
        super().save_model(request, obj, form, change)


@admin.register(AdjustmentReason)
class AdjustmentReasonAdmin(BumpsRuleset, admin.ModelAdmin):
    list_display = ["code", "name", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]


@admin.register(PriceQuote)
class PriceQuoteAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "ruleset_version", "created_at", "priced_at"]
    list_filter = ["status"]
    readonly_fields = [
        "request",
        "explain",
        "status",
        "result",
        "error",
        "ruleset_version",
        "created_at",
        "priced_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(PricingRulesetVersion)
class PricingRulesetVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "token", "changed_at"]
    readonly_fields = ["version", "token", "changed_at"]
    actions = ["force_reload"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Make every process reload the pricing rules")
    def force_reload(self, request, queryset):
        ruleset_version_bump()
        self.message_user(
            request, "Every process reloads the pricing rules on its next call.", messages.SUCCESS
        )

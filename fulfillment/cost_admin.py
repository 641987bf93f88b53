"""The cost-of-change console: the rules that price what a change undoes downstream, and the
policy above which a revision waits for approval (or is refused)."""

from __future__ import annotations

from django.contrib import admin

from .cost_rules import ChangeCostPolicy, ChangeCostRule


@admin.register(ChangeCostRule)
class ChangeCostRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "warehouse",
        "fixed_amount",
        "per_unit_amount",
        "percent_of_value",
        "currency",
        "active",
    ]
    list_filter = ["kind", "active", "warehouse"]
    list_editable = ["active"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "warehouse", "active"]}),
        (
            "Cost (all three add up)",
            {
                "fields": ["fixed_amount", "per_unit_amount", "percent_of_value", "currency"],
                "description": "A fixed amount per change, an amount per unit affected and a percentage "
                "of the net value affected, in the rule's currency (converted to the order's).",
            },
        ),
    ]


@admin.register(ChangeCostPolicy)
class ChangeCostPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "channel", "approval_threshold", "refusal_threshold", "currency"]
    list_select_related = ["channel"]

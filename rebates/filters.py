"""The list filters of the rebates API and screens: programs and accruals. Suppliers and
customers are named by code / account number; an unknown one is an error on the field."""

from __future__ import annotations

import django_filters

from catalog.models import Supplier
from customers.models import Customer
from oms.kernel.filtering import IsoDateFilter, StrictBooleanFilter, StrictFilterSet

from .models import (
    Accrual,
    AccrualKind,
    Claim,
    ClaimSettlement,
    PayoutMethod,
    ProgramType,
    RebateProgram,
    SourceType,
)
from .states import ClaimStatus, ProgramStatus


def _supplier() -> django_filters.Filter:
    return django_filters.ModelChoiceFilter(
        field_name="supplier",
        queryset=Supplier.objects.order_by("code"),
        to_field_name="code",
        empty_label="Any supplier",
        help_text="A supplier code.",
    )


def _customer() -> django_filters.Filter:
    return django_filters.ModelChoiceFilter(
        field_name="customer",
        queryset=Customer.objects.exclude(account_number=None).order_by("account_number"),
        to_field_name="account_number",
        empty_label="Any customer",
        help_text="A customer account number.",
    )


class ProgramFilter(StrictFilterSet):
    code = django_filters.CharFilter(field_name="code", lookup_expr="istartswith", max_length=40)
    program_type = django_filters.ChoiceFilter(choices=ProgramType.choices)
    status = django_filters.ChoiceFilter(choices=ProgramStatus.choices)
    supplier = _supplier()
    customer = _customer()
    active_on = IsoDateFilter(method="filter_active_on", label="In force on")

    class Meta:
        model = RebateProgram
        fields = ["code", "program_type", "status", "supplier", "customer", "active_on"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(start_date__lte=value, end_date__gte=value)


class AccrualFilter(StrictFilterSet):
    program = django_filters.CharFilter(
        field_name="program__code", max_length=40, help_text="A program code."
    )
    kind = django_filters.ChoiceFilter(choices=AccrualKind.choices)
    source_type = django_filters.ChoiceFilter(choices=SourceType.choices)
    supplier = _supplier()
    customer = _customer()
    claimed = StrictBooleanFilter(field_name="claimed_at", lookup_expr="isnull", exclude=True)
    date_from = IsoDateFilter(field_name="source_date", lookup_expr="gte")
    date_to = IsoDateFilter(field_name="source_date", lookup_expr="lte")

    class Meta:
        model = Accrual
        fields = ["program", "kind", "source_type", "supplier", "customer", "claimed", "date_from", "date_to"]


# --- claims (owned by the claims work) -------------------------------------------------------------


class ClaimFilter(StrictFilterSet):
    program = django_filters.CharFilter(
        field_name="program__code", max_length=40, help_text="A program code."
    )
    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices)
    supplier = _supplier()
    customer = _customer()
    currency = django_filters.CharFilter(field_name="currency", max_length=3, help_text="ISO 4217 code.")
    split = StrictBooleanFilter(
        field_name="parent", lookup_expr="isnull", exclude=True, label="Split off a partial settlement"
    )
    created_from = IsoDateFilter(field_name="created_at__date", lookup_expr="gte")
    created_to = IsoDateFilter(field_name="created_at__date", lookup_expr="lte")

    class Meta:
        model = Claim
        fields = [
            "program",
            "status",
            "supplier",
            "customer",
            "currency",
            "split",
            "created_from",
            "created_to",
        ]


class SettlementFilter(StrictFilterSet):
    claim = django_filters.NumberFilter(field_name="claim_id", min_value=1, help_text="A claim id.")
    program = django_filters.CharFilter(
        field_name="claim__program__code", max_length=40, help_text="A program code."
    )
    method = django_filters.ChoiceFilter(choices=PayoutMethod.choices)
    settled_from = IsoDateFilter(field_name="settled_on", lookup_expr="gte")
    settled_to = IsoDateFilter(field_name="settled_on", lookup_expr="lte")

    class Meta:
        model = ClaimSettlement
        fields = ["claim", "program", "method", "settled_from", "settled_to"]

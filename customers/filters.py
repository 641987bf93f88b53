"""The customer list's filters (django-filter): the staff UI's customer search."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from oms.kernel.filtering import StrictFilterSet

from .models import Customer, Lead, LeadSource
from .states import LeadStage


class CustomerFilter(StrictFilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        label="Search",
        help_text="Part of the name, account number or e-mail.",
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_q(self, qs, name, value: str):
        value = value.strip()
        return qs.filter(
            Q(name__icontains=value) | Q(account_number__icontains=value) | Q(email__icontains=value)
        )


class LeadFilter(StrictFilterSet):
    """The lead list and the pipeline board: search, stage, source and owner."""

    q = django_filters.CharFilter(
        method="filter_q", max_length=200, label="Search", help_text="Part of the company, contact or e-mail."
    )
    stage = django_filters.ChoiceFilter(choices=LeadStage.choices)
    source = django_filters.ChoiceFilter(choices=LeadSource.choices)
    owner = django_filters.NumberFilter(field_name="owner_id", min_value=1, help_text="The owner's user id.")

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_q(self, qs, name, value: str):
        value = value.strip()
        return qs.filter(
            Q(company__icontains=value) | Q(contact_name__icontains=value) | Q(email__icontains=value)
        )

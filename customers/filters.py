"""The customer list's filters (django-filter): the staff UI's customer search."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from oms.kernel.filtering import StrictFilterSet

from .models import Customer


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

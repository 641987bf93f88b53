"""The reports' filters (the same in the API, the staff screens and the exports): a django-filter
FilterSet over the sales facts, used to validate the filters of a ranking and to list the orders
behind a ranking row (the drill-down)."""

from __future__ import annotations

import django_filters
from django import forms

from customers.models import DemandClass
from inventory.models import Warehouse
from oms.kernel.filtering import IsoDateFilter, StrictFilterSet
from orders.states import OrderStatus
from partners.models import Channel

from .models import SalesFact

MAX_RANGE_DAYS = 1100  # three years: a ranking compares two ranges of this length at most


class ReportFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        for name, day in (("date_from", start), ("date_to", end)):
            if day is not None and not (1900 <= day.year <= 2999):
                self.add_error(name, "A date between 1900 and 2999.")
                return data
        if start and end and start > end:
            self.add_error("date_to", "Must be on or after date_from.")
        elif start and end and (end - start).days + 1 > MAX_RANGE_DAYS:
            self.add_error("date_from", f"A range is at most {MAX_RANGE_DAYS} days.")
        return data


class SalesFactFilter(StrictFilterSet):
    date_from = IsoDateFilter(field_name="day", lookup_expr="gte", label="From")
    date_to = IsoDateFilter(field_name="day", lookup_expr="lte", label="To")
    channel = django_filters.ModelChoiceFilter(
        queryset=Channel.objects.all(),
        to_field_name="code",
        method="filter_channel",
        label="Channel",
        help_text="A channel code.",
    )
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.all(),
        to_field_name="code",
        method="filter_warehouse",
        label="Warehouse",
        help_text="A warehouse code (the line's warehouse).",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=OrderStatus.choices, label="Order status", help_text="One or more order statuses."
    )
    customer_group = django_filters.ChoiceFilter(
        choices=DemandClass.choices,
        empty_label="Any group",
        label="Customer group",
        help_text="The order's demand class.",
    )

    class Meta:
        model = SalesFact
        fields = ["date_from", "date_to", "channel", "warehouse", "status", "customer_group"]
        form = ReportFilterForm

    def filter_channel(self, queryset, name, value):
        return queryset.filter(channel_id=value.pk) if value else queryset

    def filter_warehouse(self, queryset, name, value):
        return queryset.filter(warehouse_id=value.pk) if value else queryset

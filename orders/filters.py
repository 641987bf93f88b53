"""The order list's filters: one FilterSet for the API (`GET /api/v1/orders`) and the staff UI's
order search, applied to a queryset already scoped to the viewer (`selectors.order_list`)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from oms.kernel.filtering import IsoDateFilter, StrictBooleanFilter, StrictFilterSet
from partners.models import Channel

from .models import OrderHold, OrderLine, SalesOrder
from .states import OrderStatus


class ChannelCodeFilter(django_filters.ModelChoiceFilter):
    """A channel by its code; an unknown code is an error on the field, not an empty list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", Channel.objects.order_by("name"))
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("field_name", "channel")
        super().__init__(*args, **kwargs)


class OrderFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "Must be on or after the From date.")
        return data


class OrderFilter(StrictFilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=64,
        label="Order or source id",
        help_text="Part of the order number or source order id.",
    )
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, empty_label="Any status")
    channel = ChannelCodeFilter(
        label="Channel",
        help_text="A channel code; an unknown one is refused.",
        # Typed, so an unknown code stays in the box beside its error.
        widget=forms.TextInput(attrs={"placeholder": "e.g. web"}),
    )
    customer = django_filters.CharFilter(
        method="filter_customer",
        max_length=200,
        label="Customer",
        help_text="The account number, or part of the customer's name.",
    )
    sku = django_filters.CharFilter(
        method="filter_sku",
        max_length=64,
        label="SKU",
        help_text="Part of a SKU on one of the order's lines.",
    )
    created_from = IsoDateFilter(field_name="created_at", lookup_expr="date__gte", label="From")
    created_to = IsoDateFilter(field_name="created_at", lookup_expr="date__lte", label="To")
    hold = django_filters.CharFilter(
        method="filter_hold",
        max_length=30,
        label="Hold code",
        help_text="Orders with an active hold of this code.",
    )
    source_order_id = django_filters.CharFilter(max_length=64, help_text="Exactly this source order id.")
    include_superseded = StrictBooleanFilter(
        method="filter_superseded",
        label="Include superseded revisions",
        help_text="Default: current revisions only.",
    )

    class Meta:
        model = SalesOrder
        fields: list[str] = []
        form = OrderFilterForm

    @property
    def qs(self) -> QuerySet[SalesOrder]:
        qs = super().qs
        if not self.is_bound or not self.form.cleaned_data.get("include_superseded"):
            qs = qs.filter(is_current=True)
        return qs

    def filter_q(self, qs, name, value: str):
        return qs.filter(Q(number__icontains=value) | Q(source_order_id__icontains=value))

    def filter_customer(self, qs, name, value: str):
        value = value.strip()
        return qs.filter(Q(customer__account_number__iexact=value) | Q(customer__name__icontains=value))

    def filter_sku(self, qs, name, value: str):
        lines = OrderLine.objects.filter(order_id=OuterRef("pk"), product__sku__icontains=value.strip())
        return qs.filter(Exists(lines))

    def filter_hold(self, qs, name, value: str):
        holds = OrderHold.objects.filter(
            order_id=OuterRef("pk"), hold_code__code=value, released_at__isnull=True
        )
        return qs.filter(Exists(holds))

    def filter_superseded(self, qs, name, value: bool):
        return qs  # applied in `qs` (the default is the opposite of "no filter")

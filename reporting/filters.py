"""The exception workbench's queue filters (django-filter FilterSets): every queue filters and groups
by the same six things, customer, product, supplier, warehouse, channel and process, each reached
from that queue's rows by its own path. Codes (supplier, warehouse, channel, process) are typed;
an unknown one is an error on its field, never an empty list that looks like "nothing to do"."""

from __future__ import annotations

from typing import ClassVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog.models import Supplier
from fulfillment.models import FulfillmentLine, JeopardyAlert, ProcessDefinition, StepInstance
from fulfillment.states import JeopardyPriority
from inventory.models import Demand, Warehouse
from oms.kernel.filtering import StrictFilterSet
from orders.models import OrderHold, OrderLine
from partners.models import Channel

# The six ways a person slices a queue, in the order the form shows them.
DIMENSIONS = ("customer", "product", "supplier", "warehouse", "channel", "process")
GROUP_LABELS = {
    "customer": "Customer",
    "product": "Product",
    "supplier": "Supplier",
    "warehouse": "Warehouse",
    "channel": "Channel",
    "process": "Process",
    "code": "Hold code",
    "priority": "Priority",
}


class _CodeField(forms.CharField):
    """A code that must exist (a slug typed into a text box, so what was typed stays beside its
    error); checked with one `EXISTS` query, only when given."""

    def __init__(self, *, queryset: QuerySet, noun: str, **kwargs):
        self.queryset, self.noun = queryset, noun
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value):
        value = (super().clean(value) or "").strip()
        if value and not self.queryset.filter(code=value).exists():
            raise ValidationError(f"No {self.noun} has the code “{value}”.", code="unknown")
        return value


class CodeFilter(django_filters.CharFilter):
    field_class = _CodeField


def _code(noun: str, queryset: QuerySet, example: str) -> CodeFilter:
    return CodeFilter(
        method="filter_dimension",
        queryset=queryset,
        noun=noun,
        label=noun.capitalize(),
        help_text=f"A {noun} code; an unknown one is refused.",
        widget=forms.TextInput(attrs={"placeholder": f"e.g. {example}"}),
    )


def line_q(dimension: str, value: str, prefix: str = "") -> Q:
    """`dimension = value` for a fulfillment line reached from the row by `prefix`."""
    p = prefix
    if dimension == "customer":
        return Q(**{f"{p}order__customer__account_number__iexact": value}) | Q(
            **{f"{p}order__customer__name__icontains": value}
        )
    return Q(
        **{
            "product": {f"{p}product__sku__icontains": value},
            "supplier": {f"{p}product__primary_supplier__code": value},
            "warehouse": {f"{p}warehouse__code": value},
            "channel": {f"{p}order__channel__code": value},
            "process": {f"{p}process__definition__code": value},
        }[dimension]
    )


# What each dimension groups by, from a fulfillment line: (key, name) paths.
def line_groups(prefix: str = "") -> dict[str, tuple[str, str]]:
    p = prefix
    return {
        "customer": (f"{p}order__customer__account_number", f"{p}order__customer__name"),
        "product": (f"{p}product__sku", f"{p}product__name"),
        "supplier": (f"{p}product__primary_supplier__code", f"{p}product__primary_supplier__name"),
        "warehouse": (f"{p}warehouse__code", f"{p}warehouse__name"),
        "channel": (f"{p}order__channel__code", f"{p}order__channel__name"),
        "process": (f"{p}process__definition__code", f"{p}process__definition__name"),
    }


class QueueFilter(StrictFilterSet):
    """The six filters and the grouping every queue shares. A queue says how its rows reach a
    fulfillment line (`line_prefix`), or overrides `filter_dimension` when they reach it by an
    opaque reference; `groups` lists what its side table can group by."""

    customer = django_filters.CharFilter(
        method="filter_dimension",
        max_length=200,
        label="Customer",
        help_text="The account number, or part of the customer's name.",
    )
    product = django_filters.CharFilter(
        method="filter_dimension", max_length=64, label="Product", help_text="Part of a SKU."
    )
    supplier = _code("supplier", Supplier.objects.all(), "acme")
    warehouse = _code("warehouse", Warehouse.objects.all(), "wh-east")
    channel = _code("channel", Channel.objects.all(), "web")
    process = _code("process", ProcessDefinition.objects.all(), "standard")
    group = django_filters.ChoiceFilter(
        method="filter_group", choices=(), empty_label="No grouping", label="Group by"
    )

    line_prefix: ClassVar[str] = ""
    groups: ClassVar[dict[str, tuple[str, str]]] = line_groups()

    class Meta:
        model = FulfillmentLine
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["group"].extra["choices"] = [(k, GROUP_LABELS[k]) for k in self.groups]

    def filter_dimension(self, qs, name, value):
        value = value.strip() if isinstance(value, str) else value
        return qs.filter(line_q(name, value, self.line_prefix)) if value else qs

    def filter_group(self, qs, name, value):
        return qs  # grouping shapes the side table (reporting.selectors.queue_groups), not the rows

    @property
    def group_paths(self) -> tuple[str, str] | None:
        if not self.is_bound or not self.is_valid():
            return None
        return self.groups.get(self.form.cleaned_data.get("group") or "")


class JeopardyQueueFilter(QueueFilter):
    """Unresolved jeopardy alerts: by priority and assignment, and by the six dimensions of the
    alert's fulfillment line (customer and channel from the alert's own order and channel)."""

    priority = django_filters.ChoiceFilter(
        choices=[c for c in JeopardyPriority.choices if c[0] != JeopardyPriority.ON_TIME],
        empty_label="Any priority",
        label="Priority",
    )
    unassigned = django_filters.ChoiceFilter(
        method="filter_unassigned",
        choices=[("true", "Unassigned only")],
        empty_label="Assigned or not",
        label="Assignment",
    )

    line_prefix = "fulfillment_line__"
    groups = {
        "priority": ("priority", "priority"),
        **line_groups("fulfillment_line__"),
        "customer": ("order__customer__account_number", "order__customer__name"),
        "channel": ("channel__code", "channel__name"),
        "process": ("process__definition__code", "process__definition__name"),
    }

    class Meta:
        model = JeopardyAlert
        fields: list[str] = []

    def filter_dimension(self, qs, name, value):
        value = value.strip()
        if value and name == "process":
            return qs.filter(process__definition__code=value)
        if value and name == "channel":
            return qs.filter(channel__code=value)
        if value and name == "customer":
            return qs.filter(line_q(name, value, ""))  # the alert's own order
        return super().filter_dimension(qs, name, value)

    def filter_unassigned(self, qs, name, value: str):
        return qs.filter(assigned_to__isnull=True) if value == "true" else qs


class UnscheduledLineFilter(QueueFilter):
    """Fulfillment lines not scheduled yet."""


class FailedStepFilter(QueueFilter):
    line_prefix = "process__fulfillment_line__"
    groups = {
        **line_groups("process__fulfillment_line__"),
        "process": ("process__definition__code", "process__definition__name"),
    }

    class Meta:
        model = StepInstance
        fields: list[str] = []

    def filter_dimension(self, qs, name, value):
        value = value.strip()
        if name == "process" and value:
            return qs.filter(process__definition__code=value)
        return super().filter_dimension(qs, name, value)


class HoldQueueFilter(QueueFilter):
    """Active holds: by hold code, and by the six dimensions (customer and channel from the order;
    product and supplier from its lines; warehouse and process from its fulfillment lines)."""

    code = django_filters.CharFilter(field_name="hold_code__code", max_length=30, label="Hold code")

    groups = {
        "code": ("hold_code__code", "hold_code__name"),
        "customer": ("order__customer__account_number", "order__customer__name"),
        "channel": ("order__channel__code", "order__channel__name"),
        "product": ("order__lines__product__sku", "order__lines__product__name"),
        "supplier": (
            "order__lines__product__primary_supplier__code",
            "order__lines__product__primary_supplier__name",
        ),
    }

    class Meta:
        model = OrderHold
        fields: list[str] = []

    def filter_dimension(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        if name in ("customer", "channel"):
            return qs.filter(line_q(name, value, ""))  # the hold's order is the line's order
        if name in ("product", "supplier"):
            lines = OrderLine.objects.filter(order_id=OuterRef("order_id")).filter(line_q(name, value))
            return qs.filter(Exists(lines))
        flines = FulfillmentLine.objects.filter(order_number=OuterRef("order__number")).filter(
            line_q(name, value)
        )
        return qs.filter(Exists(flines))


class BackorderQueueFilter(QueueFilter):
    """Open back-orders (inventory demands): product, supplier and warehouse are the demand's own;
    customer, channel and process come from the order line or fulfillment line the demand names
    (`reporting.selectors.open_backorders` annotates `line_ref` and `fline_ref`)."""

    groups = {
        "product": ("product__sku", "product__name"),
        "supplier": ("product__primary_supplier__code", "product__primary_supplier__name"),
        "warehouse": ("warehouse__code", "warehouse__name"),
    }

    class Meta:
        model = Demand
        fields: list[str] = []

    def filter_dimension(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        if name in ("product", "supplier", "warehouse"):
            return qs.filter(line_q(name, value))
        flines = FulfillmentLine.objects.filter(pk=OuterRef("fline_ref")).filter(line_q(name, value))
        if name == "process":
            return qs.filter(Exists(flines))
        lines = OrderLine.objects.filter(pk=OuterRef("line_ref")).filter(line_q(name, value))
        return qs.filter(Exists(flines) | Exists(lines))

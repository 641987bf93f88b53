"""Filters of fulfillment lists: the jeopardy alert queue (API `GET /api/v1/jeopardy/alerts` and
the staff workbench), applied to a queryset already scoped to the viewer."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from oms.kernel.filtering import StrictBooleanFilter, StrictFilterSet
from orders.filters import ChannelCodeFilter

from .models import JeopardyAlert
from .states import JeopardyAlertStatus, JeopardyPriority, TaskType


class JeopardyAlertFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=JeopardyAlertStatus.choices, label="Status")
    priority = django_filters.MultipleChoiceFilter(
        choices=[c for c in JeopardyPriority.choices if c[0] != JeopardyPriority.ON_TIME], label="Priority"
    )
    unresolved = StrictBooleanFilter(method="filter_unresolved", label="Unresolved only")
    channel = ChannelCodeFilter(label="Channel")
    warehouse = django_filters.CharFilter(
        field_name="fulfillment_line__warehouse__code", max_length=40, label="Warehouse code"
    )
    order = django_filters.CharFilter(field_name="order_number", max_length=30, label="Order number")
    sku = django_filters.CharFilter(field_name="fulfillment_line__product__sku", max_length=64, label="SKU")
    customer = django_filters.NumberFilter(field_name="order__customer_id", label="Customer id")
    process = django_filters.CharFilter(
        field_name="process__definition__code", max_length=40, label="Process code"
    )
    step_type = django_filters.ChoiceFilter(
        field_name="step__task_type", choices=TaskType.choices, label="Step type"
    )
    role = django_filters.CharFilter(max_length=20, label="Responsible role")
    assigned_to = django_filters.NumberFilter(field_name="assigned_to_id", label="Assigned to (user id)")
    unassigned = StrictBooleanFilter(method="filter_unassigned", label="Unassigned only")

    class Meta:
        model = JeopardyAlert
        fields: list[str] = []

    def filter_unresolved(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        return qs.exclude(status=JeopardyAlertStatus.RESOLVED) if value else qs

    def filter_unassigned(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        return qs.filter(assigned_to__isnull=True) if value else qs

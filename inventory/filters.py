"""The list filters of inventory's API and staff screens (django-filter FilterSets): stock positions,
the movement ledger, transfers, reorder rules, purchase orders and warehouses. Warehouses and
suppliers are named by code; an unknown code is an error on the field, not an empty list."""

from __future__ import annotations

import django_filters
from django.core.validators import RegexValidator

from catalog.models import Supplier
from oms.kernel.filtering import StrictBooleanFilter, StrictFilterSet

from .models import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderKind,
    ReorderRule,
    StockMovement,
    StockPosition,
    Transfer,
    Warehouse,
    WarehouseType,
)
from .states import PurchaseOrderStatus, TransferStatus


def _warehouse(field_name: str = "warehouse", label: str = "Warehouse", **kwargs) -> django_filters.Filter:
    return django_filters.ModelChoiceFilter(
        field_name=field_name,
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        label=label,
        empty_label="Any warehouse",
        help_text="A warehouse code.",
        **kwargs,
    )


def _sku(field_name: str) -> django_filters.Filter:
    return django_filters.CharFilter(
        field_name=field_name,
        lookup_expr="istartswith",
        max_length=64,
        label="SKU",
        help_text="SKU starts with.",
    )


class StockPositionFilter(StrictFilterSet):
    sku = _sku("product__sku")
    warehouse = _warehouse()

    class Meta:
        model = StockPosition
        fields: list[str] = []


class MovementFilter(StrictFilterSet):
    sku = _sku("position__product__sku")
    warehouse = _warehouse("position__warehouse")
    kind = django_filters.ChoiceFilter(choices=MovementKind.choices, empty_label="Any kind")

    class Meta:
        model = StockMovement
        fields: list[str] = []


class TransferFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=TransferStatus.choices, empty_label="Any status")
    from_warehouse = _warehouse("from_warehouse", "From")
    to_warehouse = _warehouse("to_warehouse", "To")

    class Meta:
        model = Transfer
        fields: list[str] = []


class ReorderRuleFilter(StrictFilterSet):
    sku = _sku("product__sku")
    warehouse = _warehouse()
    active = StrictBooleanFilter(field_name="active", help_text="`true` or `false`.")

    class Meta:
        model = ReorderRule
        fields: list[str] = []


class PurchaseOrderFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=PurchaseOrderStatus.choices, empty_label="Any status")
    kind = django_filters.ChoiceFilter(choices=PurchaseOrderKind.choices, empty_label="Any kind")
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("code"),
        to_field_name="code",
        empty_label="Any supplier",
        help_text="A supplier code.",
    )
    warehouse = _warehouse()

    class Meta:
        model = PurchaseOrder
        fields: list[str] = []


class WarehouseFilter(StrictFilterSet):
    type = django_filters.ChoiceFilter(choices=WarehouseType.choices, empty_label="Any type")
    country = django_filters.CharFilter(
        field_name="country",
        lookup_expr="iexact",
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Two letters (ISO 3166-1 alpha-2).")],
        help_text="ISO 3166-1 alpha-2.",
    )
    active = StrictBooleanFilter(field_name="active", help_text="`true` or `false`.")

    class Meta:
        model = Warehouse
        fields: list[str] = []

"""Staff UI forms for stock and purchasing; the inventory services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from .models import MovementKind, Warehouse


class WarehouseField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Warehouse.objects.filter(active=True).order_by("code"), to_field_name="code", **kwargs
        )

    def label_from_instance(self, obj: Warehouse) -> str:
        return f"{obj.code} — {obj.name}"


class AdjustmentForm(forms.Form):
    warehouse = WarehouseField()
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.DecimalField(
        max_digits=14, decimal_places=4, help_text="Signed: -3 takes three off, 5 adds five."
    )
    kind = forms.ChoiceField(
        choices=[
            (MovementKind.ADJUSTMENT, "Adjustment"),
            (MovementKind.CYCLE_COUNT, "Cycle count correction"),
        ]
    )
    reason = forms.CharField(max_length=200)


class TransferForm(forms.Form):
    from_warehouse = WarehouseField(label="From")
    to_warehouse = WarehouseField(label="To")
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.DecimalField(min_value=Decimal("0.0001"), max_digits=14, decimal_places=4)
    expected_arrival = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

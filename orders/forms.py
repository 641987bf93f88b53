"""Staff UI forms for orders. They only shape input: the submission pipeline and the lifecycle
services decide what is valid for the business (their errors are shown inline by field)."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms

from partners.models import Channel

from .inputs import AddressInput, CustomerInput, LineInput, ManualAdjustmentInput, OrderInput

ADJUSTMENT_KINDS = [
    ("", "No adjustment"),
    ("price_override", "Override unit price"),
    ("percent_off", "Percent off"),
    ("amount_off", "Amount off the line"),
    ("markup", "Markup percent"),
]

LINE_KEY = re.compile(r"^lines-(\d+)-sku$")


class ChannelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Channel) -> str:
        return f"{obj.name} ({obj.code})"


class OrderHeaderForm(forms.Form):
    source_order_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    channel = ChannelChoiceField(queryset=Channel.objects.none(), to_field_name="code")
    customer = forms.CharField(label="Customer account", max_length=30)
    customer_po = forms.CharField(label="Customer PO", max_length=64, required=False)
    requested_delivery_date = forms.DateField(
        label="Requested delivery", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ship_method = forms.CharField(max_length=40, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    ship_name = forms.CharField(label="Ship-to name", max_length=120, required=False)
    ship_line1 = forms.CharField(label="Street", max_length=200, required=False)
    ship_city = forms.CharField(label="City", max_length=100, required=False)
    ship_region = forms.CharField(label="Region", max_length=100, required=False)
    ship_postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    ship_country = forms.CharField(label="Country", max_length=2, required=False, help_text="e.g. US")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(active=True).order_by("name")

    def ship_to(self) -> AddressInput | None:
        d = self.cleaned_data
        if not d.get("ship_line1") and not d.get("ship_city") and not d.get("ship_country"):
            return None  # no override: the customer's primary ship-to site applies
        return AddressInput(
            name=d.get("ship_name", ""),
            line1=d.get("ship_line1", ""),
            city=d.get("ship_city", ""),
            region=d.get("ship_region", ""),
            postcode=d.get("ship_postcode", ""),
            country=(d.get("ship_country") or "").upper(),
        )


class OrderLineForm(forms.Form):
    sku = forms.CharField(label="Product (SKU or name)", max_length=64)
    quantity = forms.DecimalField(min_value=Decimal("0.0001"), max_digits=14, decimal_places=4, initial=1)
    requested_ship_date = forms.DateField(
        label="Ship by", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    adjustment_kind = forms.ChoiceField(label="Manual adjustment", choices=ADJUSTMENT_KINDS, required=False)
    adjustment_value = forms.DecimalField(label="Value", required=False, max_digits=20, decimal_places=4)
    adjustment_reason = forms.CharField(label="Reason code", max_length=40, required=False)

    def clean(self):
        data = super().clean()
        kind = data.get("adjustment_kind")
        if kind and (data.get("adjustment_value") is None or not data.get("adjustment_reason")):
            raise forms.ValidationError("A manual adjustment needs a value and a reason code.")
        return data

    def as_input(self, source_line_id: str) -> LineInput:
        d = self.cleaned_data
        adjustment = None
        if d.get("adjustment_kind"):
            adjustment = ManualAdjustmentInput(
                kind=d["adjustment_kind"], value=d["adjustment_value"], reason_code=d["adjustment_reason"]
            )
        return LineInput(
            source_line_id=source_line_id,
            sku=d["sku"].strip().upper(),
            quantity=d["quantity"],
            requested_ship_date=d.get("requested_ship_date"),
            manual_adjustment=adjustment,
        )


def line_indexes(data) -> list[int]:
    """The line rows present in a POST, in order (rows can be added and removed in the browser)."""
    return sorted({int(m.group(1)) for key in data if (m := LINE_KEY.match(key))})


def line_forms(data) -> list[OrderLineForm]:
    forms_ = []
    for i in line_indexes(data):
        if not (data.get(f"lines-{i}-sku") or "").strip():
            continue  # an empty row the user did not fill
        forms_.append(OrderLineForm(data, prefix=f"lines-{i}"))
    return forms_


def order_input(header: OrderHeaderForm, lines: list[OrderLineForm]) -> OrderInput:
    d = header.cleaned_data
    return OrderInput(
        source_order_id=d["source_order_id"],
        customer=CustomerInput(account_number=d["customer"].strip().upper()),
        lines=tuple(form.as_input(str(n)) for n, form in enumerate(lines, start=1)),
        customer_po=d.get("customer_po", ""),
        ship_to=header.ship_to(),
        requested_delivery_date=d.get("requested_delivery_date"),
        ship_method=d.get("ship_method", ""),
        notes=d.get("notes", ""),
    )


class ReasonForm(forms.Form):
    """Every staff action on an order carries the version the person was looking at."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, required=False)


class HoldApplyForm(ReasonForm):
    code = forms.SlugField(label="Hold code", max_length=30)

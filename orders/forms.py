"""Staff UI forms for orders. They only shape input: the submission pipeline and the lifecycle
services decide what is valid for the business (their errors are shown inline by field)."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms

from partners.models import Channel
from pricing.models import AdjustmentReason

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
    # Made when the form is shown and sent with it: a double click or a retry of the same form
    # replays the first submission instead of capturing twice (the API's Idempotency-Key path).
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Set once the person has confirmed quantities or a total far above the customer's usual.
    confirm_unusual = forms.BooleanField(required=False)
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


_NUMBER_ERRORS = {
    "required": "Enter a quantity.",
    "invalid": "Enter a number.",
    "max_digits": "This number is too long.",
    "max_decimal_places": "Use at most 4 decimals.",
    "max_whole_digits": "This number is too large.",
}


def adjustment_reason_choices() -> list[tuple[str, str]]:
    """The reason codes pricing accepts for a manual adjustment (active ones)."""
    return [("", "Choose a reason")] + [
        (r.code, r.name or r.code)
        for r in AdjustmentReason.objects.filter(active=True).order_by("name").only("code", "name")
    ]


class OrderLineForm(forms.Form):
    sku = forms.CharField(
        label="Product (SKU or name)", max_length=64, error_messages={"required": "Enter a product."}
    )
    quantity = forms.DecimalField(
        min_value=Decimal("0.0001"),
        max_digits=14,
        decimal_places=4,
        initial=1,
        error_messages={**_NUMBER_ERRORS, "min_value": "Enter a quantity above zero."},
    )
    requested_ship_date = forms.DateField(
        label="Ship by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date."},
    )
    adjustment_kind = forms.ChoiceField(
        label="Manual adjustment",
        choices=ADJUSTMENT_KINDS,
        required=False,
        error_messages={"invalid_choice": "Choose a kind from the list."},
    )
    adjustment_value = forms.DecimalField(
        label="Value",
        required=False,
        max_digits=20,
        decimal_places=4,
        min_value=Decimal(0),
        error_messages={**_NUMBER_ERRORS, "min_value": "Enter zero or more."},
    )
    adjustment_reason = forms.ChoiceField(
        label="Reason",
        required=False,
        choices=(),
        error_messages={"invalid_choice": "Choose a reason from the list."},
    )

    def __init__(self, *args, reason_choices: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["adjustment_reason"].choices = (
            reason_choices if reason_choices is not None else adjustment_reason_choices()
        )

    def clean(self):
        data = super().clean()
        if data.get("adjustment_kind"):
            if data.get("adjustment_value") is None and "adjustment_value" not in self.errors:
                self.add_error("adjustment_value", "Enter the adjustment's value.")
            if not data.get("adjustment_reason") and "adjustment_reason" not in self.errors:
                self.add_error("adjustment_reason", "Choose the reason for the adjustment.")
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
    reasons = adjustment_reason_choices()
    for i in line_indexes(data):
        if not (data.get(f"lines-{i}-sku") or "").strip():
            continue  # an empty row the user did not fill
        forms_.append(OrderLineForm(data, prefix=f"lines-{i}", reason_choices=reasons))
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


# --- order entry: messages on their fields, in words ------------------------------------------

ENTRY_HEADER_WORDS = {
    "customer": "Customer",
    "channel": "Channel",
    "customer_po": "Customer PO",
    "requested_delivery_date": "Requested delivery",
    "ship_method": "Ship method",
    "notes": "Notes",
    "ship_name": "Ship-to name",
    "ship_line1": "Ship-to street",
    "ship_city": "Ship-to city",
    "ship_region": "Ship-to region",
    "ship_postcode": "Ship-to postcode",
    "ship_country": "Ship-to country",
    "total": "Order total",
    "form": "Order",
}
ENTRY_LINE_WORDS = {
    "sku": "product",
    "quantity": "quantity",
    "requested_ship_date": "ship-by date",
    "adjustment_kind": "adjustment kind",
    "adjustment_value": "adjustment value",
    "adjustment_reason": "adjustment reason",
}
_LINE_PATHS = {
    "sku": "sku",
    "quantity": "quantity",
    "uom": "quantity",
    "requested_ship_date": "requested_ship_date",
    "manual_adjustment": "adjustment_kind",
    "manual_adjustment.kind": "adjustment_kind",
    "manual_adjustment.value": "adjustment_value",
    "manual_adjustment.reason_code": "adjustment_reason",
}
_SHIP_PARTS = {"name", "line1", "city", "region", "postcode", "country"}


class EntryMessages:
    """Messages for the entry form, one list per input, each naming its field in words
    ("Line 2 quantity: EA is counted in whole units."), each said once."""

    def __init__(self, rows: list[int]):
        self.rows = rows  # the form's row indexes, in screen order
        self.header: dict[str, list[str]] = {}
        self.lines: dict[int, dict[str, list[str]]] = {i: {} for i in rows}

    def __bool__(self) -> bool:
        return bool(self.header) or any(self.lines.values())

    def add_header(self, field: str, message: str) -> None:
        field = field if field in ENTRY_HEADER_WORDS else "form"
        text = f"{ENTRY_HEADER_WORDS[field]}: {message}"
        bucket = self.header.setdefault(field, [])
        if text not in bucket:
            bucket.append(text)

    def add_line(self, row: int, field: str, message: str) -> None:
        field = field if field in ENTRY_LINE_WORDS else "sku"
        position = self.rows.index(row) + 1 if row in self.rows else row + 1
        text = f"Line {position} {ENTRY_LINE_WORDS[field]}: {message}"
        bucket = self.lines.setdefault(row, {}).setdefault(field, [])
        if text not in bucket:
            bucket.append(text)

    def add_form(self, form: forms.Form, row: int | None = None) -> None:
        for field, problems in form.errors.items():
            for problem in problems:
                if row is None:
                    self.add_header("form" if field == "__all__" else field, problem)
                else:
                    self.add_line(row, "sku" if field == "__all__" else field, problem)

    def add_pipeline(self, fields: dict[str, list], line_rows: list[int]) -> None:
        """The pipeline's field paths ("lines[1].sku", "ship_to.city", "customer.account_number")
        onto the inputs; `line_rows[n]` is the form row of the pipeline's line n."""
        for path, problems in (fields or {}).items():
            for problem in problems:
                self._add_path(path, str(problem), line_rows)

    def _add_path(self, path: str, message: str, line_rows: list[int]) -> None:
        if path.startswith("lines[") and "]" in path:
            index = path[6 : path.index("]")]
            rest = path[path.index("]") + 2 :]
            if index.isdigit() and int(index) < len(line_rows):
                self.add_line(line_rows[int(index)], _LINE_PATHS.get(rest, "sku"), message)
                return
        head, _, part = path.partition(".")
        if head == "ship_to":
            self.add_header(f"ship_{part}" if part in _SHIP_PARTS else "ship_line1", message)
        elif head == "bill_to":
            self.add_header("customer", f"the bill-to address on file: {message[:1].lower()}{message[1:]}")
        elif head in ("customer", "demand_class"):
            self.add_header("customer", message)
        elif head == "currency":
            self.add_header("channel", message)
        else:
            self.add_header(head if head in ENTRY_HEADER_WORDS else "form", message)

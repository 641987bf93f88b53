"""Staff UI forms for fulfillment. They only shape input: the shipment services decide what is
allowed (their field errors are put back on these fields)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from .models import Shipment
from .services import AdviceLine


def quantity_field_name(fulfillment_line_id: int) -> str:
    return f"ship-{fulfillment_line_id}"


class ShipmentConfirmForm(forms.Form):
    """One quantity per line of the shipment (the full requested quantity unless changed: a
    smaller number ships part and leaves the rest waiting), and the carrier's tracking."""

    carrier = forms.CharField(max_length=60, error_messages={"required": "Enter the carrier."})
    service = forms.CharField(label="Service (optional)", max_length=60, required=False)
    tracking_number = forms.CharField(
        label="Tracking number", max_length=100, error_messages={"required": "Enter the tracking number."}
    )

    def __init__(self, *args, shipment: Shipment, **kwargs):
        self.shipment = shipment
        super().__init__(*args, **kwargs)
        self.line_rows = []
        for sl in shipment.lines.all():
            name = quantity_field_name(sl.fulfillment_line_id)
            product = sl.fulfillment_line.product
            self.fields[name] = forms.DecimalField(
                label=f"Quantity of {product.sku} shipped",
                min_value=Decimal("0.0001"),
                max_value=sl.quantity_requested,
                max_digits=14,
                decimal_places=4,
                error_messages={
                    "required": "Enter the quantity shipped.",
                    "min_value": "Enter a quantity above 0.",
                    "max_value": f"At most {sl.quantity_requested.normalize():f}, the quantity requested.",
                    "invalid": "Enter a number.",
                },
            )
            self.initial.setdefault(name, f"{sl.quantity_requested.normalize():f}")
            self.line_rows.append((sl, product, self[name]))

    def advice_lines(self) -> list[AdviceLine]:
        return [
            AdviceLine(sl.fulfillment_line_id, self.cleaned_data[quantity_field_name(sl.fulfillment_line_id)])
            for sl, _, _ in self.line_rows
        ]

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        """The service's field paths ("lines[<fulfillment line>].quantity", "carrier") onto this
        form's fields."""
        for path, problems in fields.items():
            name = path
            if path.startswith("lines[") and "]" in path:
                name = quantity_field_name(int(path[6 : path.index("]")]))
            for problem in problems:
                self.add_error(name if name in self.fields else None, str(problem))

"""POST /api/v1/prices: an explicit input serializer, and output serializers that document the breakdown."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from oms.kernel.api.inputs import StrictInputSerializer
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import validate_currency

from ..engine.context import MANUAL_KINDS
from ..services import MAX_LINES


class ShipToInput(StrictInputSerializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2.")
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    def validate_country(self, value: str) -> str:
        if not value.isalpha():
            raise serializers.ValidationError("An ISO 3166-1 alpha-2 code.")
        return value.upper()


class ManualAdjustmentInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=MANUAL_KINDS)
    value = serializers.DecimalField(max_digits=20, decimal_places=4, min_value=Decimal(0))
    reason_code = serializers.CharField(max_length=40)


class PriceLineInput(StrictInputSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4, min_value=Decimal("0.0001"))
    uom = serializers.CharField(max_length=10, required=False, allow_null=True, allow_blank=True)
    manual_adjustment = ManualAdjustmentInput(required=False, allow_null=True)
    source_unit_price = serializers.DecimalField(
        max_digits=20,
        decimal_places=4,
        min_value=Decimal(0),
        required=False,
        allow_null=True,
        help_text="Kept (as 'source price') only for a channel trusted to send its prices.",
    )

    def validate_quantity(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Must be above zero.")
        return value


class PriceRequestInput(StrictInputSerializer):
    customer = serializers.CharField(
        max_length=30,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Account number; empty for anonymous consumer pricing.",
    )
    channel = serializers.SlugField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="Staff only; a channel key prices for its own channel.",
    )
    currency = serializers.CharField(max_length=3)
    pricing_date = serializers.DateField(required=False, allow_null=True, help_text="Default: today.")
    ship_to = ShipToInput(required=False, allow_null=True, help_text="Default: the customer's ship-to site.")
    ship_method = serializers.SlugField(max_length=40, required=False, allow_null=True, allow_blank=True)
    coupon_codes = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20, default=list
    )
    lines = serializers.ListField(child=PriceLineInput(), min_length=1, max_length=MAX_LINES)
    explain = serializers.BooleanField(required=False, default=False)

    def validate_currency(self, value: str) -> str:
        try:
            return validate_currency(value)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.fields["currency"]) from exc


# --- output (documents the shape of PriceResult.to_dict()) -----------------------------------


def _amount(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(help_text=help_text or "Decimal, as a string.")


class FxOutput(serializers.Serializer):
    base = serializers.CharField()
    quote = serializers.CharField()
    rate = _amount("1 base = rate quote.")
    valid_on = serializers.DateField()
    inverted = serializers.BooleanField()


class ComponentOutput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            "list_price",
            "source_price",
            "discount",
            "markup",
            "manual",
            "order_discount",
            "shipping",
            "tax",
        ]
    )
    amount = _amount("Signed: discounts are negative.")
    label = serializers.CharField()
    rule = serializers.CharField(allow_null=True, help_text="Rule, price list, tax or shipping rule.")
    detail = serializers.DictField(child=serializers.JSONField())


class RecurringOutput(serializers.Serializer):
    period = serializers.ChoiceField(choices=["month", "quarter", "year"])
    periods = serializers.IntegerField(allow_null=True)


class LinePriceOutput(serializers.Serializer):
    index = serializers.IntegerField()
    sku = serializers.CharField()
    product_id = serializers.IntegerField()
    quantity = _amount()
    uom = serializers.CharField()
    charge_type = serializers.ChoiceField(choices=["one_time", "recurring"])
    price_list = serializers.CharField(allow_null=True)
    unit_list_price = _amount()
    list_amount = _amount()
    line_discount = _amount()
    order_discount = _amount()
    net = _amount()
    shipping = _amount()
    tax_rate = _amount("Percent.")
    tax = _amount()
    total = _amount()
    components = ComponentOutput(many=True)
    recurring = RecurringOutput(allow_null=True)
    source_price = serializers.BooleanField()
    manual_reason_code = serializers.CharField(allow_null=True)
    fx = FxOutput(allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())


class TotalsOutput(serializers.Serializer):
    list_amount = _amount()
    line_discount = _amount()
    order_discount = _amount()
    net = _amount()
    shipping = _amount()
    tax = _amount()
    total = _amount()


class RecurringTotalsOutput(serializers.Serializer):
    period = serializers.CharField()
    periods = serializers.IntegerField(allow_null=True)
    net = _amount()
    tax = _amount()
    total = _amount("Per period.")
    contract_total = serializers.CharField(allow_null=True)


class CouponCheckOutput(serializers.Serializer):
    code = serializers.CharField()
    valid = serializers.BooleanField()
    reason = serializers.CharField()
    rule = serializers.CharField(allow_null=True)
    applied = serializers.BooleanField()


class TraceEntryOutput(serializers.Serializer):
    scope = serializers.CharField()
    step = serializers.CharField()
    subject = serializers.CharField()
    outcome = serializers.CharField()
    reason = serializers.CharField()


class PriceResultOutput(serializers.Serializer):
    currency = serializers.CharField()
    pricing_date = serializers.DateField()
    ruleset_version = serializers.IntegerField()
    customer = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True)
    lines = LinePriceOutput(many=True)
    totals = TotalsOutput(help_text="One-time charges; the total is exactly the sum of the lines.")
    recurring = RecurringTotalsOutput(many=True)
    needs_approval = serializers.BooleanField()
    approval_reasons = serializers.ListField(child=serializers.CharField())
    coupons = CouponCheckOutput(many=True)
    rates = FxOutput(many=True)
    shipping_rule = serializers.CharField(allow_null=True)
    trace = TraceEntryOutput(many=True, allow_null=True)

"""Explicit input/output shapes; names are unique across the API (OpenAPI components)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from customers.models import DemandClass
from oms.kernel.api.inputs import StrictInputSerializer, StrictQuerySerializer

from ..models import PurchaseOrder, PurchaseOrderLine, ReorderRule, StockPosition, Transfer, Warehouse

QTY = {"max_digits": 20, "decimal_places": 4}
COUNTRY = r"^[A-Za-z]{2}$"


class PositiveQuantityField(serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0.0001"))  # above zero, at the field's precision
        super().__init__(**QTY, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value


class WarehouseOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(read_only=True)

    class Meta:
        model = Warehouse
        fields = ["code", "name", "type", "country", "region", "postcode", "latitude", "longitude", "active"]
        read_only_fields = fields


class StockPositionOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    available = serializers.DecimalField(**QTY, read_only=True)

    class Meta:
        model = StockPosition
        fields = ["sku", "warehouse", "on_hand", "reserved", "available", "updated_at"]
        read_only_fields = fields


class StockAdjustmentInputSerializer(StrictInputSerializer):
    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QTY, help_text="Signed: + found, - lost/damaged.")
    reason = serializers.CharField(max_length=200)
    cycle_count = serializers.BooleanField(default=False)


class AvailabilityQuerySerializer(StrictQuerySerializer):
    sku = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=200, help_text="Repeat for many."
    )
    quantity = PositiveQuantityField(required=False)
    date = serializers.DateField(required=False)
    warehouse = serializers.CharField(max_length=40, required=False)
    ship_to_country = serializers.RegexField(COUNTRY, required=False, help_text="ISO 3166-1 alpha-2.")
    demand_class = serializers.ChoiceField(choices=DemandClass.choices, default=DemandClass.STANDARD)


class AvailabilityBatchItemSerializer(StrictInputSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = PositiveQuantityField(required=False)


class AvailabilityBatchInputSerializer(StrictInputSerializer):
    items = AvailabilityBatchItemSerializer(many=True, min_length=1, max_length=500)
    date = serializers.DateField(required=False)
    warehouse = serializers.CharField(max_length=40, required=False)
    ship_to_country = serializers.RegexField(COUNTRY, required=False, help_text="ISO 3166-1 alpha-2.")
    demand_class = serializers.ChoiceField(choices=DemandClass.choices, default=DemandClass.STANDARD)


class AvailabilityOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    date = serializers.DateField()
    available_now = serializers.DecimalField(**QTY)
    available_by_date = serializers.DecimalField(**QTY)
    quantity = serializers.DecimalField(**QTY, allow_null=True)
    promisable = serializers.BooleanField(allow_null=True, help_text="quantity <= available_by_date")
    earliest_date = serializers.DateField(allow_null=True, help_text="First date `quantity` is available.")


class TransferLineInputSerializer(StrictInputSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = PositiveQuantityField()


class TransferInputSerializer(StrictInputSerializer):
    from_warehouse = serializers.CharField(max_length=40)
    to_warehouse = serializers.CharField(max_length=40)
    expected_arrival = serializers.DateField(required=False, allow_null=True)
    lines = TransferLineInputSerializer(many=True, min_length=1)


class TransferLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    quantity = serializers.DecimalField(**QTY)


class TransferOutputSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    from_warehouse = serializers.CharField(source="from_warehouse.code", read_only=True)
    to_warehouse = serializers.CharField(source="to_warehouse.code", read_only=True)
    lines = TransferLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Transfer
        fields = ["id", "number", "status", "from_warehouse", "to_warehouse", "expected_arrival", "lines"]
        read_only_fields = fields


class TransferActionInputSerializer(StrictInputSerializer):
    action = serializers.RegexField(r"^(ship|receive|cancel)$", help_text="ship, receive or cancel")


class ReorderRuleInputSerializer(StrictInputSerializer):
    sku = serializers.CharField(max_length=64)
    warehouse = serializers.CharField(max_length=40)
    reorder_point = serializers.DecimalField(**QTY, min_value=0)
    safety_stock = serializers.DecimalField(**QTY, min_value=0, default=0)
    order_up_to = PositiveQuantityField(required=False, allow_null=True)
    fixed_order_quantity = PositiveQuantityField(required=False, allow_null=True)
    lot_multiple = PositiveQuantityField(default=1)
    min_order_quantity = serializers.DecimalField(**QTY, min_value=0, default=0)
    supplier = serializers.CharField(max_length=40, required=False, allow_blank=True)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365, default=7)

    def validate(self, attrs):
        if (attrs.get("order_up_to") is None) == (attrs.get("fixed_order_quantity") is None):
            raise serializers.ValidationError("Give either order_up_to or fixed_order_quantity.")
        if attrs.get("order_up_to") is not None and attrs["order_up_to"] <= attrs["reorder_point"]:
            raise serializers.ValidationError({"order_up_to": ["Must be above the reorder point."]})
        return attrs


class ReorderRuleOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    supplier = serializers.CharField(source="preferred_supplier.code", read_only=True, allow_null=True)

    class Meta:
        model = ReorderRule
        fields = [
            "id",
            "sku",
            "warehouse",
            "reorder_point",
            "safety_stock",
            "order_up_to",
            "fixed_order_quantity",
            "lot_multiple",
            "min_order_quantity",
            "supplier",
            "lead_time_days",
            "active",
        ]
        read_only_fields = fields


class PurchaseOrderLineInputSerializer(StrictInputSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = PositiveQuantityField()
    unit_cost = serializers.DecimalField(**QTY, required=False, allow_null=True, min_value=0)


class PurchaseOrderInputSerializer(StrictInputSerializer):
    supplier = serializers.CharField(max_length=40)
    warehouse = serializers.CharField(max_length=40)
    kind = serializers.RegexField(r"^(standard|back_to_back|drop_ship)$", default="standard")
    demand_type = serializers.CharField(max_length=40, required=False, default="")
    demand_id = serializers.CharField(max_length=64, required=False, default="")
    ship_to = serializers.CharField(required=False, default="")
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365, default=7)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD")
    lines = PurchaseOrderLineInputSerializer(many=True, min_length=1)


class PurchaseOrderLineOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "sku", "quantity_ordered", "quantity_received", "unit_cost", "expected_date"]
        read_only_fields = fields


class PurchaseOrderOutputSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    supplier = serializers.CharField(source="supplier.code", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    lines = PurchaseOrderLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "status",
            "kind",
            "supplier",
            "warehouse",
            "expected_date",
            "demand_type",
            "demand_id",
            "currency",
            "lines",
        ]
        read_only_fields = fields


class PurchaseOrderReceiptLineInputSerializer(StrictInputSerializer):
    line_id = serializers.IntegerField()
    quantity = PositiveQuantityField()


class PurchaseOrderReceiptInputSerializer(StrictInputSerializer):
    reference = serializers.CharField(max_length=100, required=False, default="")
    lines = PurchaseOrderReceiptLineInputSerializer(many=True, min_length=1)

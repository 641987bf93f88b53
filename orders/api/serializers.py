"""Explicit input and output shapes for the order API. Inputs are strict: an unknown field (a
status, a total, a price from a channel that may not send one) is refused, never assigned."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import DemandClass
from oms.kernel.api.inputs import StrictInputMixin, StrictQuerySerializer

from ..inputs import AddressInput, CustomerInput, LineInput, ManualAdjustmentInput, OrderInput
from ..models import OrderHold, OrderLine, SalesOrder
from ..states import LineStatus, OrderStatus

MAX_QUANTITY = Decimal("1000000")
MAX_REVISION = 1_000_000
# Pricing's vocabulary for staff's last word on a line.
MANUAL_ADJUSTMENT_KINDS = ["price_override", "percent_off", "amount_off", "markup"]


class SharedFieldsMixin:
    """Serializers on hot paths: DRF builds a serializer's fields per instance (model
    introspection and a deep copy of the declared ones), which costs more than reading or
    rendering a small order. Fields keep no per-call state (a serializer's validated data and
    errors live on the serializer, not its fields), so they are built once per class, on a
    prototype instance, and shared."""

    @property
    def fields(self):
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = serializers.Serializer.fields.func(cls())
            cls._shared_fields = shared
        return shared


class StrictSerializer(SharedFieldsMixin, StrictInputMixin, serializers.Serializer):
    """Refuses fields it does not declare (no mass assignment of server-computed fields) and
    values of the wrong JSON type (oms.kernel.api.inputs)."""


class OrderAddressSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)


class OrderCustomerInputSerializer(StrictSerializer):
    account_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OrderManualAdjustmentSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=MANUAL_ADJUSTMENT_KINDS)
    value = serializers.DecimalField(max_digits=16, decimal_places=4, min_value=Decimal("0"))
    reason_code = serializers.CharField(max_length=40)


class OrderLineInputSerializer(StrictSerializer):
    source_line_id = serializers.CharField(max_length=64)
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=Decimal("0.0001"), max_value=MAX_QUANTITY
    )
    uom = serializers.CharField(max_length=10, required=False, allow_blank=True)
    ship_to = OrderAddressSerializer(required=False)
    requested_ship_date = serializers.DateField(required=False)
    ship_method = serializers.CharField(max_length=40, required=False, allow_blank=True)
    unit_price = serializers.DecimalField(
        max_digits=16, decimal_places=4, min_value=Decimal("0"), required=False,
        help_text="Only a channel trusted to send its prices; recorded as the source price.",
    )  # fmt: skip
    manual_adjustment = OrderManualAdjustmentSerializer(required=False, help_text="Staff only.")


class OrderCreateInputSerializer(StrictSerializer):
    channel = serializers.SlugField(
        max_length=40, required=False, help_text="Staff only: the order's channel."
    )
    source_order_id = serializers.CharField(max_length=64)
    revision = serializers.IntegerField(min_value=1, max_value=MAX_REVISION, default=1)
    customer = OrderCustomerInputSerializer()
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    customer_po = serializers.CharField(max_length=64, required=False, allow_blank=True)
    bill_to = OrderAddressSerializer(required=False)
    ship_to = OrderAddressSerializer(required=False)
    requested_delivery_date = serializers.DateField(required=False)
    ship_method = serializers.CharField(max_length=40, required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=1, max_value=9, required=False)
    demand_class = serializers.ChoiceField(choices=DemandClass.choices, required=False)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    coupons = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=20)
    source_page = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="Web orders: the landing page the order came from (a path or URL), for reporting.",
    )
    campaign = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Web orders: the marketing campaign (e.g. utm_campaign), for reporting.",
    )
    lines = serializers.ListField(child=OrderLineInputSerializer(), min_length=1, max_length=1000)

    def to_order_input(self) -> OrderInput:
        data = self.validated_data
        return order_input_from(data)


def order_input_from(data: dict) -> OrderInput:
    """Validated data (API or import) -> the pipeline's input."""

    def address(value):
        return AddressInput.from_dict(value) if value else None

    lines = tuple(
        LineInput(
            source_line_id=line["source_line_id"],
            sku=line["sku"],
            quantity=line["quantity"],
            uom=line.get("uom", ""),
            ship_to=address(line.get("ship_to")),
            requested_ship_date=line.get("requested_ship_date"),
            ship_method=line.get("ship_method", ""),
            unit_price=line.get("unit_price"),
            manual_adjustment=ManualAdjustmentInput(**line["manual_adjustment"])
            if line.get("manual_adjustment")
            else None,
        )
        for line in data["lines"]
    )
    customer = data.get("customer") or {}
    return OrderInput(
        source_order_id=data["source_order_id"],
        revision=data.get("revision", 1),
        customer=CustomerInput(
            account_number=customer.get("account_number", ""),
            email=customer.get("email", ""),
            name=customer.get("name", ""),
        ),
        lines=lines,
        currency=data.get("currency", ""),
        customer_po=data.get("customer_po", ""),
        bill_to=address(data.get("bill_to")),
        ship_to=address(data.get("ship_to")),
        requested_delivery_date=data.get("requested_delivery_date"),
        ship_method=data.get("ship_method", ""),
        priority=data.get("priority"),
        demand_class=data.get("demand_class", ""),
        notes=data.get("notes", ""),
        coupons=tuple(data.get("coupons") or ()),
        source_page=data.get("source_page", ""),
        campaign=data.get("campaign", ""),
    )


class OrderLineOutputSerializer(SharedFieldsMixin, serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    status = serializers.ChoiceField(choices=LineStatus.choices)

    class Meta:
        model = OrderLine
        fields = [
            "line_number", "source_line_id", "sku", "quantity", "uom", "ship_to", "requested_ship_date",
            "ship_method", "unit_list_price", "unit_net_price", "price_source", "price_breakdown",
            "line_total", "status", "shipped_quantity", "billed_quantity", "backordered_quantity",
        ]  # fmt: skip
        read_only_fields = fields


class OrderHoldOutputSerializer(SharedFieldsMixin, serializers.ModelSerializer):
    code = serializers.CharField(source="hold_code.code")
    active = serializers.BooleanField()
    line_number = serializers.SerializerMethodField()

    class Meta:
        model = OrderHold
        fields = [
            "id", "code", "line_number", "reason", "details", "applied_by", "applied_at", "active",
            "released_by", "released_at", "release_reason",
        ]  # fmt: skip
        read_only_fields = fields

    def get_line_number(self, hold) -> int | None:
        return hold.line.line_number if hold.line_id else None


class OrderOutputSerializer(SharedFieldsMixin, serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    customer = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    lines = OrderLineOutputSerializer(many=True)
    holds = OrderHoldOutputSerializer(many=True)

    class Meta:
        model = SalesOrder
        fields = [
            "number", "revision", "is_current", "channel", "source_order_id", "customer_po", "status",
            "customer", "bill_to", "ship_to", "currency", "payment_terms", "ship_method",
            "requested_delivery_date", "demand_class", "priority", "notes", "subtotal", "discount_total",
            "shipping_total", "tax_total", "total", "approval_reasons", "source_page", "campaign", "version",
            "created_at", "lines", "holds",
        ]  # fmt: skip
        read_only_fields = fields

    def get_customer(self, order) -> dict[str, str]:
        return {
            "account_number": order.customer.account_number or "",
            "name": order.customer.name,
            "email": order.customer.email,
        }


class ChangeCostItemSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="shipment_request_cancel, purchase_order_change, ...")
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=4)
    source_line_id = serializers.CharField(allow_blank=True)
    reference = serializers.CharField(allow_blank=True, help_text="The shipment request or purchase order.")


class ChangeCostSerializer(serializers.Serializer):
    """What a revision costs at the current state of fulfillment (the admin's cost rules)."""

    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=20, decimal_places=4)
    items = ChangeCostItemSerializer(many=True)
    approval_required = serializers.BooleanField()
    approval_reasons = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())


class OrderCreatedSerializer(OrderOutputSerializer):
    """The order as captured; a revision also says what the change costs (null for a first
    submission)."""

    change_cost = serializers.SerializerMethodField()

    class Meta(OrderOutputSerializer.Meta):
        fields = [*OrderOutputSerializer.Meta.fields, "change_cost"]
        read_only_fields = fields

    @extend_schema_field(ChangeCostSerializer(allow_null=True))
    def get_change_cost(self, order) -> dict | None:
        cost = getattr(order, "change_cost", None)
        return None if cost is None else ChangeCostSerializer(cost.as_dict()).data


class OrderReasonInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class OrderApproveInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OrderHoldInputSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=30)
    reason = serializers.CharField(max_length=500)
    line_number = serializers.IntegerField(min_value=1, required=False)


class OrderRevisionQuerySerializer(StrictQuerySerializer):
    """`?revision=`: absent means the current revision; anything but a revision number is a 400."""

    revision = serializers.IntegerField(min_value=1, max_value=MAX_REVISION, required=False)


class OrderBySourceQuerySerializer(StrictQuerySerializer):
    channel = serializers.SlugField(
        max_length=40, required=False, help_text="Staff: the channel of the source order."
    )


class QuoteLineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=Decimal("0.0001"), max_value=MAX_QUANTITY
    )
    uom = serializers.CharField(max_length=10, required=False, allow_blank=True)


class QuoteInputSerializer(StrictSerializer):
    channel = serializers.SlugField(max_length=40, required=False, help_text="Staff only.")
    customer = OrderCustomerInputSerializer(required=False)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    ship_to = OrderAddressSerializer(required=False)
    ship_method = serializers.CharField(max_length=40, required=False, allow_blank=True)
    coupons = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=20)
    lines = serializers.ListField(child=QuoteLineInputSerializer(), min_length=1, max_length=1000)


class QuoteWarehouseSerializer(serializers.Serializer):
    warehouse = serializers.CharField()
    available_now = serializers.DecimalField(max_digits=20, decimal_places=4)
    earliest_date = serializers.DateField(allow_null=True)


class QuoteLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4)
    uom = serializers.CharField()
    unit_list_price = serializers.DecimalField(max_digits=20, decimal_places=4)
    net = serializers.DecimalField(max_digits=20, decimal_places=4)
    tax = serializers.DecimalField(max_digits=20, decimal_places=4)
    total = serializers.DecimalField(max_digits=20, decimal_places=4)
    components = serializers.ListField(child=serializers.DictField())
    availability = QuoteWarehouseSerializer(many=True)
    earliest_date = serializers.DateField(allow_null=True)


class QuoteTotalsSerializer(serializers.Serializer):
    list_amount = serializers.DecimalField(max_digits=20, decimal_places=4)
    discount = serializers.DecimalField(max_digits=20, decimal_places=4)
    shipping = serializers.DecimalField(max_digits=20, decimal_places=4)
    tax = serializers.DecimalField(max_digits=20, decimal_places=4)
    total = serializers.DecimalField(max_digits=20, decimal_places=4)


class QuoteOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    lines = QuoteLineOutputSerializer(many=True)
    totals = QuoteTotalsSerializer()
    needs_approval = serializers.BooleanField()
    approval_reasons = serializers.ListField(child=serializers.CharField())
    coupons = serializers.ListField(child=serializers.DictField())


class OrderPageSerializer(serializers.Serializer):
    """One cursor page of orders: follow `next` until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutputSerializer(many=True)

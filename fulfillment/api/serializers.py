from __future__ import annotations

from rest_framework import serializers

from oms.kernel.api.inputs import StrictInputSerializer

from ..models import FulfillmentLine, StepInstance
from ..states import (
    AlertResolution,
    FulfillmentLineStatus,
    JeopardyAlertStatus,
    JeopardyPriority,
    ProcessStatus,
    ShipmentStatus,
    StepStatus,
    TaskType,
)


class ShipmentAdviceLineInputSerializer(StrictInputSerializer):
    fulfillment_line = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=0)


class ShipmentAdviceInputSerializer(StrictInputSerializer):
    advice_id = serializers.CharField(
        max_length=80, help_text="Unique per partner; a resend is answered, not re-applied."
    )
    shipment = serializers.CharField(max_length=30)
    lines = ShipmentAdviceLineInputSerializer(
        many=True, required=False, help_text="Omit: everything requested shipped."
    )
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    service = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ShipmentAdviceLineOutputSerializer(serializers.Serializer):
    fulfillment_line = serializers.IntegerField()
    quantity = serializers.CharField()
    remainder_line = serializers.IntegerField(allow_null=True)


class ShipmentAdviceOutputSerializer(serializers.Serializer):
    shipment = serializers.CharField()
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)
    lines = ShipmentAdviceLineOutputSerializer(many=True)


SHIPMENT_UPDATE_STATUSES = [
    (ShipmentStatus.DELIVERED.value, ShipmentStatus.DELIVERED.label),
    (ShipmentStatus.EXCEPTION.value, ShipmentStatus.EXCEPTION.label),
]


class ShipmentStatusInputSerializer(StrictInputSerializer):
    shipment = serializers.CharField(max_length=30)
    status = serializers.ChoiceField(choices=SHIPMENT_UPDATE_STATUSES)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ShipmentStatusOutputSerializer(serializers.Serializer):
    shipment = serializers.CharField(source="number")
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)


class FulfillmentStepOutputSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="step_definition.name")
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    status = serializers.ChoiceField(choices=StepStatus.choices)
    branch = serializers.CharField(source="step_definition.branch")

    class Meta:
        model = StepInstance
        fields = [
            "id",
            "sequence",
            "name",
            "task_type",
            "branch",
            "status",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            "attempts",
            "last_error",
            "wake_at",
            "awaited_event",
        ]
        read_only_fields = fields


class FulfillmentShipmentOutputSerializer(serializers.Serializer):
    number = serializers.CharField(source="shipment.number")
    status = serializers.ChoiceField(source="shipment.status", choices=ShipmentStatus.choices)
    tracking_number = serializers.CharField(source="shipment.tracking_number")
    quantity_requested = serializers.DecimalField(max_digits=14, decimal_places=4)
    quantity_shipped = serializers.DecimalField(max_digits=14, decimal_places=4)


class FulfillmentProcessOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    definition = serializers.CharField(source="definition.code")
    version = serializers.IntegerField(source="definition.version")
    status = serializers.ChoiceField(choices=ProcessStatus.choices)
    steps = FulfillmentStepOutputSerializer(many=True)


class FulfillmentLineOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    status = serializers.ChoiceField(choices=FulfillmentLineStatus.choices)
    warehouse = serializers.CharField(source="warehouse.code", allow_null=True, default=None)
    purchase_order = serializers.CharField(source="purchase_order.number", allow_null=True, default=None)
    process = FulfillmentProcessOutputSerializer()
    shipments = FulfillmentShipmentOutputSerializer(source="shipment_lines", many=True)

    class Meta:
        model = FulfillmentLine
        fields = [
            "id",
            "source_line_id",
            "sku",
            "quantity",
            "status",
            "mode",
            "warehouse",
            "scheduled_ship_date",
            "shipped_quantity",
            "billed_quantity",
            "parent",
            "purchase_order",
            "process",
            "shipments",
        ]
        read_only_fields = fields


class OrderFulfillmentOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    lines = FulfillmentLineOutputSerializer(many=True)


class StepActionInputSerializer(StrictInputSerializer):
    action = serializers.ChoiceField(choices=["retry", "skip"])


class ProcessCancelInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=500)


# --- jeopardy alerts ------------------------------------------------------------------------


class JeopardyAlertOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order_number")
    channel = serializers.CharField(source="channel.code")
    fulfillment_line = serializers.IntegerField(source="fulfillment_line_id")
    process = serializers.IntegerField(source="process_id")
    step = serializers.IntegerField(source="step_id", allow_null=True)
    step_type = serializers.SerializerMethodField()
    warehouse = serializers.SerializerMethodField()
    sku = serializers.CharField(source="fulfillment_line.product.sku")
    priority = serializers.ChoiceField(choices=JeopardyPriority.choices)
    score = serializers.IntegerField()
    delay_hours = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    reason = serializers.CharField()
    role = serializers.CharField()
    status = serializers.ChoiceField(choices=JeopardyAlertStatus.choices)
    assigned_to = serializers.SerializerMethodField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.ChoiceField(choices=AlertResolution.choices)
    note = serializers.CharField()
    raised_at = serializers.DateTimeField()

    def get_step_type(self, alert) -> str | None:
        return alert.step.task_type if alert.step_id else None

    def get_warehouse(self, alert) -> str | None:
        wh = alert.fulfillment_line.warehouse
        return wh.code if wh else None

    def get_assigned_to(self, alert) -> str | None:
        return alert.assigned_to.get_username() if alert.assigned_to_id else None


class JeopardyAlertAssignInputSerializer(StrictInputSerializer):
    assignee = serializers.IntegerField(
        min_value=1, allow_null=True, help_text="The staff member's user id; null takes the alert back."
    )


class JeopardyAlertResolveInputSerializer(StrictInputSerializer):
    note = serializers.CharField(max_length=2000, help_text="What was done.")

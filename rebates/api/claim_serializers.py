"""Explicit shapes of the claims, settlements and checkbook API (inputs strict, outputs read-only)."""

from __future__ import annotations

from rest_framework import serializers

from oms.kernel.api.inputs import StrictInputSerializer

from ..models import Claim, ClaimLine, ClaimSettlement, PayoutMethod
from ..states import ClaimStatus, DisputeReason

MONEY = {"max_digits": 20, "decimal_places": 4}


class ClaimLineOutputSerializer(serializers.ModelSerializer):
    accrual_kind = serializers.CharField(source="accrual.kind", read_only=True)
    accrual_amount = serializers.DecimalField(source="accrual.amount", read_only=True, **MONEY)
    document = serializers.CharField(source="accrual.document", read_only=True)
    source_type = serializers.CharField(source="accrual.source_type", read_only=True)
    source_id = serializers.CharField(source="accrual.source_id", read_only=True)

    class Meta:
        model = ClaimLine
        fields = [
            "accrual",
            "accrual_kind",
            "accrual_amount",
            "document",
            "source_type",
            "source_id",
            "amount",
        ]
        read_only_fields = fields


class ClaimOutputSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    program = serializers.CharField(source="program.code", read_only=True)
    program_version = serializers.IntegerField(source="program.version", read_only=True)
    supplier = serializers.CharField(source="supplier.code", read_only=True, allow_null=True, default=None)
    customer = serializers.CharField(
        source="customer.account_number", read_only=True, allow_null=True, default=None
    )
    parent = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ClaimStatus.choices, read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id", "number", "program", "program_version", "supplier", "customer", "parent", "status",
            "currency", "amount", "original_amount", "settled_amount", "written_off_amount", "fx_rate",
            "dispute_reason", "dispute_note", "reference", "version",
            "created_at", "submitted_at", "settled_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_parent(self, obj) -> str | None:
        return obj.parent.number if obj.parent_id else None


class ClaimDetailOutputSerializer(ClaimOutputSerializer):
    lines = ClaimLineOutputSerializer(many=True, read_only=True)

    class Meta(ClaimOutputSerializer.Meta):
        fields = [*ClaimOutputSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class SettlementOutputSerializer(serializers.ModelSerializer):
    claim = serializers.CharField(source="claim.number", read_only=True)
    child = serializers.SerializerMethodField()
    method = serializers.CharField(
        read_only=True, help_text="check, credit_memo, deduction; empty for a write-off."
    )

    class Meta:
        model = ClaimSettlement
        fields = [
            "id",
            "claim",
            "method",
            "amount",
            "written_off",
            "currency",
            "reference",
            "settled_on",
            "child",
        ]
        read_only_fields = fields

    def get_child(self, obj) -> str | None:
        return obj.child.number if obj.child_id else None


class ClaimGenerateInputSerializer(StrictInputSerializer):
    program = serializers.IntegerField(required=False, min_value=1, help_text="A program id; omit for all.")


class ClaimCreateInputSerializer(StrictInputSerializer):
    program = serializers.IntegerField(min_value=1)
    accruals = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=10000
    )
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class ClaimActionInputSerializer(StrictInputSerializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you saw (409 if stale)."
    )
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class ClaimSubmitInputSerializer(ClaimActionInputSerializer):
    reference = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)


class ClaimDisputeInputSerializer(ClaimActionInputSerializer):
    reason = serializers.ChoiceField(choices=DisputeReason.choices)


class ClaimSettleInputSerializer(ClaimActionInputSerializer):
    amount = serializers.DecimalField(min_value=0, **MONEY)
    method = serializers.ChoiceField(choices=PayoutMethod.choices)
    reference = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    settled_on = serializers.DateField(required=False)


class FiguresOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    budget = serializers.DecimalField(allow_null=True, **MONEY)
    earned = serializers.DecimalField(**MONEY)
    claimed = serializers.DecimalField(**MONEY)
    unclaimed = serializers.DecimalField(**MONEY)
    settled = serializers.DecimalField(**MONEY)
    written_off = serializers.DecimalField(**MONEY)
    outstanding = serializers.DecimalField(**MONEY)


class ForecastOutputSerializer(serializers.Serializer):
    program = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    measure = serializers.CharField()
    volume = serializers.DecimalField(**MONEY)
    current_rate = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True)
    next_tier_from = serializers.DecimalField(allow_null=True, **MONEY)
    next_tier_rate = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True)
    to_next_tier = serializers.DecimalField(allow_null=True, **MONEY)
    projected_volume = serializers.DecimalField(**MONEY)
    reaches_next_tier_on = serializers.DateField(allow_null=True)


class SeriesOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    months = serializers.ListField(child=serializers.CharField())
    earned = serializers.ListField(child=serializers.DecimalField(**MONEY))
    settled = serializers.ListField(child=serializers.DecimalField(**MONEY))
    earned_total = serializers.ListField(child=serializers.DecimalField(**MONEY))
    settled_total = serializers.ListField(child=serializers.DecimalField(**MONEY))


class CheckbookOutputSerializer(serializers.Serializer):
    scope = serializers.CharField(help_text="program, supplier or customer")
    id = serializers.IntegerField()
    name = serializers.CharField()
    figures = FiguresOutputSerializer(many=True)
    series = SeriesOutputSerializer(allow_null=True)
    forecasts = ForecastOutputSerializer(many=True)

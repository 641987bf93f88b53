"""Output shapes of the rebates API (read only): programs with their terms, and accruals with
their calculation basis."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Accrual, ProgramTier, RebateProgram, ShipDebitAuthorization


class RebateTierOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProgramTier
        fields = ["lower", "upper", "rate"]


class ShipDebitAuthorizationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipDebitAuthorization
        fields = [
            "number",
            "valid_from",
            "valid_to",
            "max_quantity",
            "consumed_quantity",
            "method",
            "value",
            "base_cost",
        ]


class RebateProgramOutputSerializer(serializers.ModelSerializer):
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    customer = serializers.SlugRelatedField(slug_field="account_number", read_only=True)
    customer_segment = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RebateProgram
        fields = [
            "id",
            "code",
            "version",
            "name",
            "program_type",
            "status",
            "currency",
            "supplier",
            "customer",
            "customer_segment",
            "basis",
            "calc_method",
            "tier_mode",
            "tier_measure",
            "period",
            "start_date",
            "end_date",
            "budget_cap",
            "accrued_amount",
            "payout_method",
            "approved_at",
        ]
        read_only_fields = fields


class RebateProgramDetailSerializer(RebateProgramOutputSerializer):
    tiers = RebateTierOutputSerializer(many=True, read_only=True)
    authorizations = ShipDebitAuthorizationOutputSerializer(many=True, read_only=True)

    class Meta(RebateProgramOutputSerializer.Meta):
        fields = [*RebateProgramOutputSerializer.Meta.fields, "tiers", "authorizations"]
        read_only_fields = fields


class AccrualOutputSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", read_only=True)
    program_version = serializers.IntegerField(source="program.version", read_only=True)
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    customer = serializers.SlugRelatedField(slug_field="account_number", read_only=True)
    product = serializers.SlugRelatedField(slug_field="sku", read_only=True)
    basis = serializers.JSONField(read_only=True)

    class Meta:
        model = Accrual
        fields = [
            "id",
            "program",
            "program_version",
            "kind",
            "source_type",
            "source_id",
            "event_key",
            "reverses",
            "supplier",
            "customer",
            "product",
            "document",
            "source_date",
            "period_start",
            "period_end",
            "quantity",
            "value",
            "source_currency",
            "source_value",
            "fx_rate",
            "tier",
            "rate",
            "basis",
            "amount",
            "currency",
            "functional_amount",
            "functional_currency",
            "claim_number",
            "created_at",
        ]
        read_only_fields = fields

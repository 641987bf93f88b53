from rest_framework import serializers


class JeopardyCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Unresolved jeopardy alerts.")
    by_priority = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Unresolved alerts per priority: high, medium, low (all present).",
    )


class HoldCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Active holds on current orders.")
    by_code = serializers.DictField(child=serializers.IntegerField(), help_text="Active holds per hold code.")


class ExceptionSummaryOutputSerializer(serializers.Serializer):
    jeopardy = JeopardyCountsSerializer()
    holds = HoldCountsSerializer()
    failed_steps = serializers.IntegerField(help_text="Parked steps waiting for a person (retry or skip).")
    backorders = serializers.IntegerField(help_text="Open back-order demands.")
    unscheduled = serializers.IntegerField(help_text="Fulfillment lines not scheduled yet.")
    generated_at = serializers.DateTimeField()

from rest_framework import serializers

from ..models import Channel


class ChannelOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = [
            "code",
            "name",
            "type",
            "active",
            "reserve_at_capture",
            "trusted_prices",
            "default_currency",
        ]
        read_only_fields = fields

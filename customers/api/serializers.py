from __future__ import annotations

from rest_framework import serializers

from oms.kernel.api.inputs import StrictInputSerializer

from ..models import Lead, LeadSource
from ..states import LeadStage


class LeadInputSerializer(StrictInputSerializer):
    """A lead from a web form: who to call back and what they asked about."""

    contact_name = serializers.CharField(max_length=120)
    company = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    email = serializers.EmailField(required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, default="", allow_blank=True,
                                     help_text="ISO 3166-1 alpha-2")  # fmt: skip
    city = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    interest = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    estimated_value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                               allow_null=True, default=None)  # fmt: skip
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="USD")

    def validate_contact_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Required.")
        return value


class LeadOutputSerializer(serializers.ModelSerializer):
    email = serializers.CharField(help_text="Blank when the lead left only a phone number.")
    stage = serializers.ChoiceField(choices=LeadStage.choices)
    source = serializers.ChoiceField(choices=LeadSource.choices)
    estimated_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    customer_account = serializers.CharField(source="customer.account_number", allow_null=True, default=None)

    class Meta:
        model = Lead
        fields = [
            "id", "company", "contact_name", "email", "phone", "country", "city", "interest",
            "estimated_value", "currency", "source", "stage", "lost_reason", "owner", "customer_account",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

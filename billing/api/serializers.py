from __future__ import annotations

from rest_framework import serializers

from oms.kernel.api.inputs import StrictInputSerializer

from ..models import CreditMemo, Invoice, Payment
from ..states import PaymentMethod, RefundTarget


class PaymentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "number",
            "order_number",
            "method",
            "status",
            "currency",
            "amount",
            "authorized_amount",
            "captured_amount",
            "refunded_amount",
            "allocated_amount",
            "provider",
            "reference",
            "check_number",
            "deposit_date",
            "failure_reason",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields


class OrderPaymentsOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    payment_hold = serializers.BooleanField()
    payments = PaymentOutputSerializer(many=True)


class PaymentAuthorizeInputSerializer(StrictInputSerializer):
    method = serializers.ChoiceField(choices=[PaymentMethod.CARD.value, PaymentMethod.PAYPAL.value])
    token = serializers.CharField(max_length=120, help_text="The provider's token; never card data.")
    amount = serializers.CharField(
        max_length=30, required=False, help_text="Defaults to what is not covered."
    )
    key = serializers.CharField(max_length=100, help_text="Idempotency key of this authorization.")


class PaymentRefundInputSerializer(StrictInputSerializer):
    amount = serializers.CharField(max_length=30)
    reason = serializers.CharField(max_length=500)
    key = serializers.CharField(max_length=100)


class PaymentOperationOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=4)
    error = serializers.CharField()


class AllocationInputSerializer(StrictInputSerializer):
    invoice = serializers.CharField(max_length=30)
    amount = serializers.CharField(max_length=30)


class OfflinePaymentInputSerializer(StrictInputSerializer):
    customer = serializers.IntegerField(min_value=1)
    method = serializers.ChoiceField(
        choices=[
            m.value
            for m in (PaymentMethod.BANK_TRANSFER, PaymentMethod.CHECK, PaymentMethod.CASH_ON_DELIVERY)
        ]
    )
    amount = serializers.CharField(max_length=30)
    currency = serializers.CharField(max_length=3)
    reference = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    check_number = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    deposit_date = serializers.DateField(required=False, allow_null=True, default=None)
    allocations = AllocationInputSerializer(many=True, required=False, default=list)


class CreditLineInputSerializer(StrictInputSerializer):
    invoice_line = serializers.IntegerField(min_value=1)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=0)


class CreditMemoInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=500)
    refund_to = serializers.ChoiceField(choices=RefundTarget.choices)
    key = serializers.CharField(max_length=80)
    lines = CreditLineInputSerializer(many=True, required=False, default=list)


class CreditMemoOutputSerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.number")

    class Meta:
        model = CreditMemo
        fields = [
            "number",
            "invoice",
            "currency",
            "total",
            "reason",
            "refund_to",
            "refunded_amount",
            "store_credit_amount",
        ]
        read_only_fields = fields


class InvoiceVoidInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=500)


class InvoiceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = [
            "number",
            "order_number",
            "status",
            "currency",
            "total",
            "amount_paid",
            "amount_credited",
            "due_date",
        ]
        read_only_fields = fields


class StatementImportInputSerializer(StrictInputSerializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("camt053", "CAMT.053 XML")])
    currency = serializers.CharField(max_length=3)


class StatementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    line_count = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())


class AgingRowSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer__name = serializers.CharField()
    currency = serializers.CharField()
    current = serializers.DecimalField(max_digits=20, decimal_places=4)
    d1_30 = serializers.DecimalField(max_digits=20, decimal_places=4)
    d31_60 = serializers.DecimalField(max_digits=20, decimal_places=4)
    d61_90 = serializers.DecimalField(max_digits=20, decimal_places=4)
    d90_plus = serializers.DecimalField(max_digits=20, decimal_places=4)
    open_total = serializers.DecimalField(max_digits=20, decimal_places=4)


class WebhookAckSerializer(serializers.Serializer):
    outcome = serializers.CharField()

"""Invoices and their lines. Writes live in `billing.services`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from oms.kernel.money import CurrencyField, MoneyField
from orders.models import OrderLine, SalesOrder

from .states import (
    InvoiceStatus,
    MatchStatus,
    OperationKind,
    OperationStatus,
    PaymentMethod,
    PaymentStatus,
    RefundTarget,
)

QUANTITY = {"max_digits": 14, "decimal_places": 4}
INVOICE_NUMBER_PREFIX = "INV-"


class InvoiceNumber(models.Model):
    """SQLite's stand-in for the PostgreSQL sequence `billing_invoice_number_seq`."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        db_table = "billing_invoice_number"

    def __str__(self) -> str:
        return str(self.pk)


class Invoice(models.Model):
    number = models.CharField(max_length=30, unique=True)
    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="+")
    order_number = models.CharField(max_length=30, db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    currency = CurrencyField()
    net_total = MoneyField()
    shipping_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    # The share of the order's credit amount (customer's credit currency) this invoice moves from
    # open orders to open receivables when issued.
    credit_amount = MoneyField()
    payment_terms = models.CharField(max_length=15, blank=True, default="")
    due_date = models.DateField(null=True, blank=True)
    # Who asked for it (a fulfillment step run): a redelivered request finds it, not a twin.
    request_key = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Collected (payment allocations) and credited (credit memos); open = total - paid - credited.
    amount_paid = MoneyField()
    amount_credited = MoneyField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_credited__gte=0), name="invoice_settled_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"

    @property
    def open_amount(self):
        return self.total - self.amount_paid - self.amount_credited


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    # Opaque: the fulfillment line that shipped it (fulfillment sits above billing).
    fulfillment_ref = models.CharField(max_length=40, blank=True, default="")
    quantity = models.DecimalField(**QUANTITY)
    unit_net_price = MoneyField()
    net = MoneyField()
    shipping = MoneyField()
    tax = MoneyField()
    total = MoneyField()

    class Meta:
        ordering = ["invoice", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.order_line_id} x{self.quantity}"


class BillingEvent(models.Model):
    """The audit trail of billing documents: who changed what, when, before and after."""

    entity = models.CharField(max_length=20)  # invoice | payment | credit_memo | statement_line
    entity_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    actor = models.CharField(max_length=120, default="system")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["entity", "entity_id"], name="billingevent_entity_idx")]

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id}: {self.kind}"


class Payment(models.Model):
    number = models.CharField(max_length=30, unique=True)
    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    order_number = models.CharField(max_length=30, blank=True, default="", db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    channel_code = models.CharField(max_length=40, blank=True, default="")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    currency = CurrencyField()
    amount = MoneyField()  # asked for (authorization or received amount)
    authorized_amount = MoneyField()
    captured_amount = MoneyField()
    refunded_amount = MoneyField()
    allocated_amount = MoneyField()
    provider = models.CharField(max_length=20, blank=True, default="")
    provider_ref = models.CharField(max_length=80, blank=True, default="", db_index=True)
    # What the storefront sent instead of card data (a provider token); never a card number.
    provider_token = models.CharField(max_length=120, blank=True, default="")
    authorized_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True, default="")
    # Offline methods: bank reference, check number and deposit date, carrier confirmation.
    reference = models.CharField(max_length=80, blank=True, default="")
    check_number = models.CharField(max_length=40, blank=True, default="")
    deposit_date = models.DateField(null=True, blank=True)
    # Opaque: the bank statement line or delivery confirmation it came from (one payment each).
    source_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=Q(method__in=PaymentMethod.values), name="payment_method_valid"),
            models.CheckConstraint(
                condition=Q(captured_amount__lte=models.F("authorized_amount")),
                name="payment_capture_le_auth",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("captured_amount")),
                name="payment_refund_le_capture",
            ),
            models.CheckConstraint(
                condition=Q(allocated_amount__lte=models.F("captured_amount") - models.F("refunded_amount")),
                name="payment_allocated_le_capture",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount__gte=0, captured_amount__gte=0, refunded_amount__gte=0, allocated_amount__gte=0
                ),
                name="payment_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.method} ({self.status})"

    @property
    def capturable(self):
        return self.authorized_amount - self.captured_amount

    @property
    def refundable(self):
        return self.captured_amount - self.refunded_amount

    @property
    def unallocated(self):
        return self.captured_amount - self.allocated_amount


class PaymentOperation(models.Model):
    """One request to the provider (or one offline booking). Its `key` is the idempotency key sent
    to the provider, so a retried capture after a lost reply is the same capture, not a second."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=12, choices=OperationKind.choices)
    status = models.CharField(max_length=12, choices=OperationStatus.choices, default=OperationStatus.UNKNOWN)
    amount = MoneyField()
    key = models.CharField(max_length=120, unique=True)
    provider_ref = models.CharField(max_length=80, blank=True, default="")
    # Opaque: what asked for it (a shipment, a credit memo).
    reference = models.CharField(max_length=80, blank=True, default="")
    error = models.CharField(max_length=200, blank=True, default="")
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=OperationKind.values), name="payment_op_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=OperationStatus.values), name="payment_op_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="payment_op_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.status})"


class PaymentAllocation(models.Model):
    """Part of a payment applied to an invoice: one payment may pay several invoices, one invoice
    may be paid by several payments. A negative amount takes an allocation back (a refund)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.payment_id} -> {self.invoice_id}: {self.amount}"


class WebhookEvent(models.Model):
    """Provider webhooks received, unique per provider event id: a duplicate finds its row."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=80)
    provider_ref = models.CharField(max_length=80, blank=True, default="")
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=200, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.event_type}"


class CreditMemoNumber(models.Model):
    """SQLite's stand-in for the PostgreSQL sequence `billing_credit_memo_number_seq`."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        db_table = "billing_credit_memo_number"

    def __str__(self) -> str:
        return str(self.pk)


class CreditMemo(models.Model):
    number = models.CharField(max_length=30, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_memos")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = CurrencyField()
    total = MoneyField()
    reason = models.TextField()
    refund_to = models.CharField(max_length=20, choices=RefundTarget.choices)
    refunded_amount = MoneyField()
    store_credit_amount = MoneyField()
    request_key = models.CharField(max_length=80, unique=True)
    created_by = models.CharField(max_length=120, default="system")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="credit_memo_total_positive"),
            models.CheckConstraint(
                condition=Q(refund_to__in=RefundTarget.values), name="credit_memo_target_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditMemoLine(models.Model):
    credit_memo = models.ForeignKey(CreditMemo, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="credit_lines")
    quantity = models.DecimalField(**QUANTITY)
    total = MoneyField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.credit_memo_id}: {self.invoice_line_id} x{self.quantity}"


class StoreCreditEntry(models.Model):
    """Store credit ledger (append-only): a credit memo adds, a store-credit payment draws."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = CurrencyField()
    amount = MoneyField()
    reference = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["reference"], name="store_credit_reference_unique")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.amount} {self.currency}"


class BankStatement(models.Model):
    format = models.CharField(max_length=10)  # csv | camt053
    filename = models.CharField(max_length=200, blank=True, default="")
    currency = CurrencyField()
    line_count = models.PositiveIntegerField(default=0)
    imported_by = models.CharField(max_length=120, default="system")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"statement {self.pk} ({self.line_count} lines)"


class StatementLine(models.Model):
    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    booking_date = models.DateField()
    amount = MoneyField()
    currency = CurrencyField()
    reference = models.CharField(max_length=140, blank=True, default="")
    # The invoice number found in the reference (upper-cased), the matching key.
    match_key = models.CharField(max_length=30, blank=True, default="", db_index=True)
    counterparty = models.CharField(max_length=140, blank=True, default="")
    match_status = models.CharField(max_length=12, choices=MatchStatus.choices, default=MatchStatus.UNMATCHED)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    difference = MoneyField()  # line amount - invoice open amount at match time
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_by = models.CharField(max_length=120, blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "line_no"], name="statement_line_unique"),
            models.CheckConstraint(
                condition=Q(match_status__in=MatchStatus.values), name="statement_match_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}/{self.line_no} {self.amount} {self.match_status}"


class DunningNotice(models.Model):
    """One reminder level sent for an invoice; unique, so a re-run sends nothing twice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="dunning_notices")
    level = models.PositiveSmallIntegerField()
    open_amount = MoneyField()
    days_overdue = models.IntegerField()
    email = models.CharField(max_length=254, blank=True, default="")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["invoice", "level"], name="dunning_once_per_level")]

    def __str__(self) -> str:
        return f"{self.invoice_id} level {self.level}"

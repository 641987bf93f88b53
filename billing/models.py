"""Invoices and their lines. Writes live in `billing.services`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from oms.kernel.money import CurrencyField, MoneyField
from orders.models import OrderLine, SalesOrder

from .states import InvoiceStatus

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

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"


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

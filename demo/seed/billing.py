"""Invoices of the demo history: the fulfillment steps issued them; customers on net terms have
paid those of orders placed a few weeks ago (through the billing service, which also lowers
their open receivables). Back-dated with their orders."""

from __future__ import annotations

from collections.abc import Mapping

from billing.models import Invoice
from billing.services import invoice_mark_paid
from billing.states import InvoiceStatus

from .base import Context

# Orders placed at least this many days ago have been paid for (roughly net 15).
PAID_AFTER_DAYS = 15


def payments(ctx: Context, ages: Mapping[str, int]) -> None:
    """`ages`: order number -> days since it was placed, for the orders this run created."""
    paid = 0
    due = Invoice.objects.filter(
        order_number__in=[n for n, age in ages.items() if age >= PAID_AFTER_DAYS], status=InvoiceStatus.ISSUED
    ).order_by("pk")
    for invoice_id in due.values_list("pk", flat=True):
        invoice_mark_paid(invoice_id=invoice_id)
        paid += 1
    issued = Invoice.objects.filter(order_number__in=list(ages)).count()
    ctx.write(f"  {'invoices':<22} {issued} issued for the history, {paid} paid")

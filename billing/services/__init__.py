"""Billing writes, by use case: invoices, payments (gateway and offline), credit memos,
statement matching, receivables (docs/billing.md, docs/payments.md)."""

from .invoices import (
    SEQUENCE,
    TERM_DAYS,
    BillLine,
    due_date_for,
    invoice_create,
    invoice_issue,
    invoice_mark_paid,
    invoice_number_next,
    invoice_settle,
    invoice_void,
)

__all__ = [
    "SEQUENCE",
    "TERM_DAYS",
    "BillLine",
    "due_date_for",
    "invoice_create",
    "invoice_issue",
    "invoice_mark_paid",
    "invoice_number_next",
    "invoice_settle",
    "invoice_void",
]

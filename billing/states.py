"""Invoice lifecycle as data (listed in docs/states.md)."""

from __future__ import annotations

from django.db import models

from oms.kernel.exceptions import IllegalTransition


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.ISSUED, InvoiceStatus.VOID}),
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def ensure_invoice_transition(current: str, target: str) -> None:
    if target not in INVOICE_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)

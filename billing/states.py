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


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    PAYPAL = "paypal", "PayPal"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CASH_ON_DELIVERY = "cod", "Cash on delivery"
    CHECK = "check", "Check"
    STORE_CREDIT = "store_credit", "Store credit"


# Methods whose money moves through a payment-service provider (a gateway adapter).
GATEWAY_METHODS = frozenset({PaymentMethod.CARD, PaymentMethod.PAYPAL})


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


# CAPTURED -> CAPTURED is a further partial capture of the same authorization (one per shipment);
# PARTIALLY_REFUNDED -> PARTIALLY_REFUNDED a further partial refund.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.AUTHORIZED,
            PaymentStatus.CAPTURED,
            PaymentStatus.FAILED,
            PaymentStatus.VOIDED,
            PaymentStatus.EXPIRED,
        }
    ),
    PaymentStatus.AUTHORIZED: frozenset(
        {PaymentStatus.CAPTURED, PaymentStatus.VOIDED, PaymentStatus.EXPIRED, PaymentStatus.FAILED}
    ),
    PaymentStatus.CAPTURED: frozenset(
        {PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    ),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.VOIDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.EXPIRED: frozenset(),
}


def ensure_payment_transition(current: str, target: str) -> None:
    if target not in PAYMENT_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)


class OperationKind(models.TextChoices):
    AUTHORIZE = "authorize", "Authorize"
    CAPTURE = "capture", "Capture"
    VOID = "void", "Void"
    REFUND = "refund", "Refund"


class OperationStatus(models.TextChoices):
    # UNKNOWN: the request went out and no answer came back (timeout, lost reply); the
    # reconciliation task asks the provider and settles it.
    UNKNOWN = "unknown", "Unknown"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class MatchStatus(models.TextChoices):
    MATCHED = "matched", "Matched (exact)"
    UNDERPAID = "underpaid", "Underpaid"
    OVERPAID = "overpaid", "Overpaid"
    UNMATCHED = "unmatched", "Unmatched"
    CURRENCY = "currency", "Other currency than the invoice"
    POSTED = "posted", "Posted"
    DISMISSED = "dismissed", "Dismissed"


class RefundTarget(models.TextChoices):
    ORIGINAL_PAYMENT = "original_payment", "Refund to the original payment"
    STORE_CREDIT = "store_credit", "Store credit"

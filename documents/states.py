"""Lifecycles of documents and of the mails that carry them: status choices and transition tables."""

from __future__ import annotations

from django.db import models

from oms.kernel.exceptions import IllegalTransition


class DocumentType(models.TextChoices):
    QUOTE = "quote", "Quote"
    ORDER_ACKNOWLEDGEMENT = "order_acknowledgement", "Order acknowledgement"
    PICK_LIST = "pick_list", "Pick list"
    PACKING_SLIP = "packing_slip", "Packing slip"
    SHIPMENT_NOTICE = "shipment_notice", "Shipment notice"
    INVOICE = "invoice", "Invoice"
    CREDIT_MEMO = "credit_memo", "Credit memo"
    PURCHASE_ORDER = "purchase_order", "Purchase order"
    RETURN_AUTHORIZATION = "return_authorization", "Return authorization"
    REBATE_CLAIM = "rebate_claim", "Rebate claim"
    CUSTOMER_STATEMENT = "customer_statement", "Customer statement"


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    SENT = "sent", "Sent"
    VIEWED = "viewed", "Viewed"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    VOID = "void", "Void"


S = DocumentStatus
DOCUMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    # A draft is a document whose rendering failed (or has not run): issuing it again renders it.
    S.DRAFT: frozenset({S.ISSUED, S.VOID}),
    S.ISSUED: frozenset({S.SENT, S.VIEWED, S.ACKNOWLEDGED, S.VOID}),
    S.SENT: frozenset({S.VIEWED, S.ACKNOWLEDGED, S.VOID}),
    S.VIEWED: frozenset({S.ACKNOWLEDGED, S.VOID}),
    S.ACKNOWLEDGED: frozenset({S.VOID}),
    S.VOID: frozenset(),
}


def ensure_document_transition(before: str, after: str) -> None:
    if after not in DOCUMENT_TRANSITIONS.get(before, frozenset()):
        raise IllegalTransition(before, after, message=f"A document cannot go from {before} to {after}.")


class MailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


M = MailStatus
MAIL_TRANSITIONS: dict[str, frozenset[str]] = {
    # A refused attempt stays queued (with its reason) until the attempts run out: then failed.
    M.QUEUED: frozenset({M.SENT, M.FAILED}),
    M.SENT: frozenset(),
    M.FAILED: frozenset({M.QUEUED}),  # staff retry after fixing the address or the server
}


def ensure_mail_transition(before: str, after: str) -> None:
    if after not in MAIL_TRANSITIONS.get(before, frozenset()):
        raise IllegalTransition(before, after, message=f"A mail cannot go from {before} to {after}.")


class ViewChannel(models.TextChoices):
    STAFF = "staff", "Staff UI"
    API = "api", "API"
    LINK = "link", "Customer link"
    EMAIL_OPEN = "email_open", "Email opened"


class ViewOutcome(models.TextChoices):
    SHOWN = "shown", "Shown"
    REFUSED = "refused", "Refused"

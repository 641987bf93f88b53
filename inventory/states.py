"""Lifecycles of inventory documents: status choices and their transition tables.

Listed in docs/states.md (PurchaseOrder, Transfer, Reservation). A pair missing from a table is
refused with `IllegalTransition` (API: 409).
"""

from __future__ import annotations

from django.db import models

from oms.kernel.states import ensure_transition  # noqa: F401  (re-exported: callers import it from here)


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent to supplier"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"
    CANCELED = "canceled", "Canceled"


PO = PurchaseOrderStatus
PO_TRANSITIONS: dict[str, frozenset[str]] = {
    PO.DRAFT: frozenset({PO.APPROVED, PO.CANCELED}),
    PO.APPROVED: frozenset({PO.SENT, PO.CANCELED}),
    PO.SENT: frozenset({PO.PARTIALLY_RECEIVED, PO.RECEIVED, PO.CANCELED}),
    # A receipt that completes the last open line moves on to received; the rest can be closed
    # short (the supplier will not ship it) instead of waiting forever.
    PO.PARTIALLY_RECEIVED: frozenset({PO.PARTIALLY_RECEIVED, PO.RECEIVED, PO.CLOSED}),
    PO.RECEIVED: frozenset({PO.CLOSED}),
    PO.CLOSED: frozenset(),
    PO.CANCELED: frozenset(),
}
# Supply that ATP and the reorder scan count as "on order".
PO_OPEN_STATUSES = (PO.APPROVED, PO.SENT, PO.PARTIALLY_RECEIVED)
PO_RECEIVABLE_STATUSES = (PO.SENT, PO.PARTIALLY_RECEIVED)


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    CANCELED = "canceled", "Canceled"


TR = TransferStatus
TRANSFER_TRANSITIONS: dict[str, frozenset[str]] = {
    TR.DRAFT: frozenset({TR.IN_TRANSIT, TR.CANCELED}),
    # Canceling in transit puts the goods back on hand at the origin (a transfer-in there).
    TR.IN_TRANSIT: frozenset({TR.RECEIVED, TR.CANCELED}),
    TR.RECEIVED: frozenset(),
    TR.CANCELED: frozenset(),
}


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONSUMED = "consumed", "Consumed (shipped)"
    RELEASED = "released", "Released"


RS = ReservationStatus
RESERVATION_TRANSITIONS: dict[str, frozenset[str]] = {
    RS.ACTIVE: frozenset({RS.CONSUMED, RS.RELEASED}),
    RS.CONSUMED: frozenset(),
    RS.RELEASED: frozenset(),
}


class DemandStatus(models.TextChoices):
    """A back-order: demand that could not reserve and waits for supply."""

    OPEN = "open", "Open"
    RESERVED = "reserved", "Reserved"
    CANCELED = "canceled", "Canceled"

"""Order and line lifecycles as data: one transition table each (see docs/states.md)."""

from __future__ import annotations

from django.db import models

from oms.kernel.states import ensure_transition


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    OPEN = "open", "Open (in fulfillment)"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    CLOSED = "closed", "Closed"
    CANCELED = "canceled", "Canceled"


ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.OPEN, OrderStatus.CANCELED}),
    OrderStatus.PENDING_APPROVAL: frozenset({OrderStatus.OPEN, OrderStatus.CANCELED}),
    OrderStatus.OPEN: frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.CANCELED}),
    OrderStatus.PARTIALLY_SHIPPED: frozenset({OrderStatus.SHIPPED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.CLOSED}),
    OrderStatus.CLOSED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
}


class LineStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    OPEN = "open", "Open"
    BACKORDERED = "backordered", "Back-ordered"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    CLOSED = "closed", "Closed"
    CANCELED = "canceled", "Canceled"


LINE_TRANSITIONS: dict[str, frozenset[str]] = {
    LineStatus.DRAFT: frozenset(
        {LineStatus.PENDING_APPROVAL, LineStatus.OPEN, LineStatus.BACKORDERED, LineStatus.CANCELED}
    ),
    LineStatus.PENDING_APPROVAL: frozenset({LineStatus.OPEN, LineStatus.BACKORDERED, LineStatus.CANCELED}),
    LineStatus.OPEN: frozenset(
        {LineStatus.BACKORDERED, LineStatus.PARTIALLY_SHIPPED, LineStatus.SHIPPED, LineStatus.CANCELED}
    ),
    LineStatus.BACKORDERED: frozenset({LineStatus.OPEN, LineStatus.CANCELED}),
    LineStatus.PARTIALLY_SHIPPED: frozenset({LineStatus.SHIPPED}),
    LineStatus.SHIPPED: frozenset({LineStatus.CLOSED}),
    LineStatus.CLOSED: frozenset(),
    LineStatus.CANCELED: frozenset(),
}

# Statuses in which an order still counts against the customer's credit.
OPEN_FOR_CREDIT = frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.OPEN, OrderStatus.PARTIALLY_SHIPPED})


def ensure_order_transition(current: str, target: str) -> None:
    ensure_transition(ORDER_TRANSITIONS, current, target)


def ensure_line_transition(current: str, target: str) -> None:
    ensure_transition(LINE_TRANSITIONS, current, target)


class HoldScope(models.TextChoices):
    """Which steps a hold code stops: everything, or only one kind of step."""

    ALL = "all", "All steps"
    SCHEDULING = "scheduling", "Scheduling and reservation"
    SHIPPING = "shipping", "Shipping"
    BILLING = "billing", "Billing"

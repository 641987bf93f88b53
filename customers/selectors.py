"""Reads for customers: the credit position a credit check needs, in one query."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.kernel.exceptions import NotFound

from .models import Customer


@dataclass(frozen=True)
class CreditPosition:
    customer_id: int
    currency: str
    credit_limit: Decimal
    open_orders: Decimal
    open_receivables: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.open_orders + self.open_receivables

    @property
    def available(self) -> Decimal:
        """May be negative: the customer is over the limit by that much."""
        return self.credit_limit - self.exposure


def credit_position(*, customer_id: int) -> CreditPosition:
    customer = (
        Customer.objects.select_related("credit_exposure")
        .only(
            "credit_limit",
            "credit_currency",
            "credit_exposure__open_orders_amount",
            "credit_exposure__open_receivables_amount",
        )
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound("No such customer.")
    # No exposure row yet means nothing is open: nobody has adjusted it.
    exposure = getattr(customer, "credit_exposure", None)
    return CreditPosition(
        customer_id=customer.pk,
        currency=customer.credit_currency,
        credit_limit=customer.credit_limit,
        open_orders=exposure.open_orders_amount if exposure else Decimal(0),
        open_receivables=exposure.open_receivables_amount if exposure else Decimal(0),
    )


def credit_position_of(customer: Customer) -> CreditPosition:
    """The position of a customer in hand: no query when it was read with
    `select_related("credit_exposure")`, one otherwise."""
    # No exposure row yet means nothing is open: nobody has adjusted it.
    exposure = getattr(customer, "credit_exposure", None)
    return CreditPosition(
        customer_id=customer.pk,
        currency=customer.credit_currency,
        credit_limit=customer.credit_limit,
        open_orders=exposure.open_orders_amount if exposure else Decimal(0),
        open_receivables=exposure.open_receivables_amount if exposure else Decimal(0),
    )

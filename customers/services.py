"""Writes for customers, and the credit exposure that orders and billing push down to us."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import to_decimal

from .models import CreditExposure, Customer, CustomerKind


@transaction.atomic
def customer_create(*, name: str, kind: str = CustomerKind.B2B, **fields: Any) -> Customer:
    customer = Customer(name=name.strip(), kind=kind, **fields)
    try:
        customer.full_clean()
    except ValidationError as exc:
        raise ValidationFailed("The customer is not valid.", fields=exc.message_dict) from exc
    customer.save()
    CreditExposure.objects.create(customer=customer, currency=customer.credit_currency)
    return customer


def _exposure_ensure(*, customer_id: int) -> None:
    """Create the customer's exposure row if missing, safe against a concurrent creator.

    get_or_create inserts inside a savepoint and, on a unique violation from a racing insert,
    reads the winner's row instead; both callers then update the same row.
    """
    if CreditExposure.objects.filter(customer_id=customer_id).exists():
        return
    currency = Customer.objects.filter(pk=customer_id).values_list("credit_currency", flat=True).first()
    if currency is None:
        raise NotFound("No such customer.")
    CreditExposure.objects.get_or_create(customer_id=customer_id, defaults={"currency": currency})


@transaction.atomic
def credit_exposure_adjust(
    *,
    customer_id: int,
    open_orders_delta: Decimal = Decimal(0),
    open_receivables_delta: Decimal = Decimal(0),
) -> CreditExposure:
    """Add the deltas (in the customer's credit currency) to the open amounts.

    One conditional UPDATE with F() expressions, so concurrent captures, cancellations and
    invoice postings add up exactly without locking the row for longer than the statement. The
    WHERE clause refuses a release that would take an amount below zero (a caller releasing
    what it never added is a bug worth a 409, not a silently negative exposure).
    """
    orders = to_decimal(open_orders_delta)
    receivables = to_decimal(open_receivables_delta)
    _exposure_ensure(customer_id=customer_id)
    if orders or receivables:
        condition = Q(customer_id=customer_id)
        if orders < 0:
            condition &= Q(open_orders_amount__gte=-orders)
        if receivables < 0:
            condition &= Q(open_receivables_amount__gte=-receivables)
        updated = CreditExposure.objects.filter(condition).update(
            open_orders_amount=F("open_orders_amount") + orders,
            open_receivables_amount=F("open_receivables_amount") + receivables,
            updated_at=timezone.now(),
        )
        if not updated:
            raise Conflict(
                "The release is larger than the open exposure.",
                customer_id=customer_id,
                open_orders_delta=str(orders),
                open_receivables_delta=str(receivables),
            )
    return CreditExposure.objects.get(customer_id=customer_id)

"""Writes for customers, and the credit exposure that orders and billing push down to us."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import to_decimal

from .models import CreditExposure, Customer, CustomerKind


def customer_create(*, name: str, kind: str = CustomerKind.B2B, **fields: Any) -> Customer:
    with transaction.atomic():
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


def credit_exposure_adjust(
    *,
    customer_id: int,
    open_orders_delta: Decimal = Decimal(0),
    open_receivables_delta: Decimal = Decimal(0),
) -> CreditExposure:
    """Add the deltas (in the customer's credit currency) to the open amounts.

    One conditional UPDATE ... RETURNING, so concurrent captures, cancellations and invoice
    postings add up exactly without locking the row for longer than the statement, and the row
    comes back without a second read. The WHERE clause refuses a release that would take an
    amount below zero (a caller releasing what it never added is a bug worth a 409, not a
    silently negative exposure). Only when the UPDATE finds no row is the row looked for: a
    customer's first adjustment creates it (safe against a concurrent creator) and updates again.
    A refusal writes nothing, so no savepoint is needed around it.
    """
    orders = to_decimal(open_orders_delta)
    receivables = to_decimal(open_receivables_delta)
    if not (orders or receivables):
        _exposure_ensure(customer_id=customer_id)
        return CreditExposure.objects.get(customer_id=customer_id)
    exposure = _exposure_add(customer_id, orders, receivables)
    if exposure is None:
        # No row yet (or one a concurrent first adjustment has just created), or a refused
        # release: with the row surely there, the second answer is the one that counts.
        _exposure_ensure(customer_id=customer_id)
        exposure = _exposure_add(customer_id, orders, receivables)
    if exposure is None:
        raise Conflict(
            "The release is larger than the open exposure.",
            customer_id=customer_id,
            open_orders_delta=str(orders),
            open_receivables_delta=str(receivables),
        )
    return exposure


def _exposure_add(customer_id: int, orders: Decimal, receivables: Decimal) -> CreditExposure | None:
    table = CreditExposure._meta.db_table
    conditions = ["customer_id = %s"]
    params: list = [
        orders,
        receivables,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        customer_id,
    ]
    if orders < 0:
        conditions.append("open_orders_amount >= %s")
        params.append(-orders)
    if receivables < 0:
        conditions.append("open_receivables_amount >= %s")
        params.append(-receivables)
    # raw() maps the returned row onto the model with the backend's converters (Decimal, aware
    # datetime) on PostgreSQL and SQLite alike. ROUND to the column's places: SQLite adds in binary
    # floating point, and a sum like 33.33 - 11.11 - 11.11 left just below 11.11 would refuse the
    # last release of an order invoiced in parts (a no-op on PostgreSQL's exact numeric).
    places = CreditExposure._meta.get_field("open_orders_amount").decimal_places
    rows = list(
        CreditExposure.objects.raw(
            f"UPDATE {table} SET open_orders_amount = ROUND(open_orders_amount + %s, {places}), "  # noqa: S608
            f"open_receivables_amount = ROUND(open_receivables_amount + %s, {places}), updated_at = %s "
            f"WHERE {' AND '.join(conditions)} "
            "RETURNING customer_id, currency, open_orders_amount, open_receivables_amount, updated_at",
            params,
        )
    )
    return rows[0] if rows else None

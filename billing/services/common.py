"""Shared by the billing services: the audit trail, amount validation, and the open balance an
invoice holds in the customer's credit exposure."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from customers.services import credit_exposure_adjust
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import minor_units

from ..models import BillingEvent, Invoice

CREDIT_QUANTUM = Decimal("0.0001")
MAX_AMOUNT = Decimal(10) ** 15  # the amount columns hold 16 integer digits


def audit(
    entity: str,
    entity_id: int,
    kind: str,
    *,
    actor: str = "system",
    before=None,
    after=None,
    reason: str = "",
) -> None:
    BillingEvent.objects.create(
        entity=entity,
        entity_id=entity_id,
        kind=kind,
        actor=actor,
        before=before or {},
        after=after or {},
        reason=reason,
    )


def money_in(value: Any, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """An amount as given by a person or a file: a Decimal with no more decimals than the
    currency has (JPY none, KWD three), positive. Anything else is a clear 400, nothing written."""
    if isinstance(value, float):
        raise ValidationFailed("Amounts are never floats.", fields={field: ["Send a string."]})
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("Not an amount.", fields={field: [f"'{value}' is not a number."]}) from exc
    if not amount.is_finite():
        raise ValidationFailed("Not an amount.", fields={field: ["Not a finite number."]})
    digits = minor_units(currency)
    if (
        amount != amount.quantize(Decimal(1).scaleb(-digits))
        if digits
        else amount != amount.to_integral_value()
    ):
        raise ValidationFailed(
            f"{currency} has {digits} decimals.",
            fields={field: [f"'{value}' has more decimals than {currency} allows ({digits})."]},
        )
    if amount >= MAX_AMOUNT:
        raise ValidationFailed("The amount is too large.", fields={field: [f"Below {MAX_AMOUNT:,}."]})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed("The amount must be positive.", fields={field: ["Must be greater than zero."]})
    return amount


def _released(invoice: Invoice, settled: Decimal) -> Decimal:
    """How much of the invoice's credit amount is released once `settled` of its total is paid or
    credited: in proportion, the last cent releasing the rest (so the shares telescope exactly)."""
    if not invoice.credit_amount or not invoice.total:
        return Decimal(0)
    if settled >= invoice.total:
        return invoice.credit_amount
    return (invoice.credit_amount * max(settled, Decimal(0)) / invoice.total).quantize(CREDIT_QUANTUM)


def receivable_settle(invoice: Invoice, *, settled_before: Decimal, settled_after: Decimal) -> Decimal:
    """Move the customer's open receivables by the change in what is settled on the invoice."""
    delta = _released(invoice, settled_after) - _released(invoice, settled_before)
    if delta:
        credit_exposure_adjust(customer_id=invoice.customer_id, open_receivables_delta=-delta)
    return delta

"""Reads other apps may use: the dated exchange rate (the credit check compares currencies with it)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from oms.kernel.exceptions import NotFound
from oms.kernel.money import validate_currency

from .engine.types import FxUse
from .models import ExchangeRate


def exchange_rate_on(*, base: str, quote: str, on: date) -> FxUse:
    """1 `base` = rate `quote`: the latest rate on or before `on` (1-2 queries).

    The stored pair wins; otherwise the reciprocal of the reverse pair's latest rate (marked
    `inverted`). Raises NotFound when neither exists on or before the date.
    """
    base, quote = validate_currency(base), validate_currency(quote)
    if base == quote:
        return FxUse(base, quote, Decimal(1), on)
    for src, dst, inverted in ((base, quote, False), (quote, base, True)):
        row = (
            ExchangeRate.objects.filter(base=src, quote=dst, valid_on__lte=on)
            .order_by("-valid_on")
            .values_list("rate", "valid_on")
            .first()
        )
        if row is not None:
            rate, valid_on = row
            return FxUse(base, quote, Decimal(1) / rate if inverted else rate, valid_on, inverted=inverted)
    raise NotFound(f"No exchange rate from {base} to {quote} on or before {on}.")

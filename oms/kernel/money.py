"""Money rules: Decimal only, round once at documented boundaries, spread by largest remainder.

Amount columns are `DecimalField(max_digits=20, decimal_places=4)` beside an ISO 4217 currency.
Line totals are rounded to the currency's minor unit with ROUND_HALF_UP; an order total is exactly
the sum of its rounded lines; order-level amounts are spread over lines so they add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from .exceptions import ValidationFailed

# ISO 4217 minor units for the currencies we trade in; anything else defaults to 2.
MINOR_UNITS: dict[str, int] = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "LYD": 3,
    "OMR": 3, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip
KNOWN_CURRENCIES = frozenset(
    {"USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "MXN", "BRL",
     "INR", "CNY", "SGD", "HKD", "NZD", "ZAR", "AED", "SAR"} | set(MINOR_UNITS)
)  # fmt: skip


def MoneyField(**kwargs) -> models.DecimalField:
    kwargs.setdefault("max_digits", 20)
    kwargs.setdefault("decimal_places", 4)
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(**kwargs)


def CurrencyField(**kwargs) -> models.CharField:
    kwargs.setdefault("max_length", 3)
    return models.CharField(**kwargs)


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money never comes from a float; pass a string or Decimal.")
    return value if isinstance(value, Decimal) else Decimal(value)


def round_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up (the one rounding boundary)."""
    return to_decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def validate_currency(code: str) -> str:
    code = (code or "").upper()
    if len(code) != 3 or not code.isalpha() or code not in KNOWN_CURRENCIES:
        raise ValidationFailed(f"Unknown currency '{code}'.", fields={"currency": ["Unknown ISO 4217 code."]})
    return code


def allocate(total: Decimal | str, weights: Sequence[Decimal | int | str], currency: str) -> list[Decimal]:
    """Spread `total` over `weights` in minor units by largest remainder; the parts sum to `total`.

    Ties go to the earlier line, so the result is deterministic. Zero weights everywhere spread
    evenly. Negative totals (discounts) are spread by their absolute value and signed back.
    """
    total = round_money(total, currency)
    if not weights:
        if total:
            raise ValueError("Cannot spread a non-zero amount over no lines.")
        return []
    ws = [to_decimal(w) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("Weights must not be negative.")
    if sum(ws) == 0:
        ws = [Decimal(1)] * len(ws)
    q = quantum(currency)
    sign = -1 if total < 0 else 1
    units = int((abs(total) / q).to_integral_value())
    weight_sum = sum(ws)
    exact = [Decimal(units) * w / weight_sum for w in ws]
    floors = [int(e) for e in exact]
    leftover = units - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * Decimal(f) * q for f in floors]


def convert(amount: Decimal, rate: Decimal, to_currency: str) -> Decimal:
    """Convert with a dated rate (from pricing's exchange-rate table) and round once."""
    return round_money(to_decimal(amount) * to_decimal(rate), to_currency)

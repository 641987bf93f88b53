"""One way to show numbers and dates to people, for every screen, message and export.

- Money: rounded to the currency's minor units (JPY none, KWD three), thousands grouped.
- Quantities: the unit's precision (EA whole, KG three decimals), grouped, never in exponent
  notation (a Decimal such as 3E+1 is normalized and written out: 30).
- Dates and times: one format per locale (the active language's short formats), times in the
  current time zone. Exports (CSV) carry ISO 8601 to the second, without microseconds.

The template filters in `oms.kernel.templatetags.oms_format` call these; Python code that
builds a message for people (flash messages, hold reasons on screen) calls them directly.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone

from .money import minor_units

__all__ = [
    "format_date",
    "format_datetime",
    "format_money",
    "format_quantity",
    "iso_timestamp",
    "money_in_text",
    "readable_text",
]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)  # display only; amounts themselves are never floats
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _grouped(number: Decimal, places: int) -> str:
    """`number` with exactly `places` decimals, thousands grouped by the locale's separators."""
    fixed = Decimal(format(number, "f"))  # fixed point first: never exponent notation
    return formats.number_format(fixed, decimal_pos=places, use_l10n=True, force_grouping=True)


def format_money(amount: Any, currency: str = "", *, with_currency: bool = True) -> str:
    """`1234567.8` USD -> "1,234,567.80 USD"; JPY -> "1,234,568 JPY"; empty for no amount."""
    number = _decimal(amount)
    if number is None:
        return ""
    places = minor_units(currency) if currency else 2
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = _grouped(rounded, places)
    return f"{text} {currency}" if with_currency and currency else text


def format_quantity(quantity: Any, places: int | None = None) -> str:
    """`Decimal("3E+1")` -> "30"; 1234.5 with 3 places (KG) -> "1,234.500"; without a unit's
    precision, as many decimals as the number has (trailing zeros dropped)."""
    number = _decimal(quantity)
    if number is None:
        return ""
    normalized = number.normalize()
    exponent = normalized.as_tuple().exponent
    own = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    # Never hide what is there: a stored 247.5 of a whole-unit product shows as 247.5.
    return _grouped(normalized, max(own, places) if places is not None else own)


def format_date(value: date | datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def format_datetime(value: datetime | None) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return format_date(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} {formats.time_format(local, 'H:i')}"


def iso_timestamp(value: datetime | date | None) -> str:
    """Machine-readable (exports): ISO 8601 to the second, no microseconds."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


_AMOUNT_WITH_CURRENCY = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s([A-Z]{3})\b")


def money_in_text(text: str) -> str:
    """Amounts written into stored texts (hold reasons, approval reasons: "limit 100000.0000
    USD") shown by the same money rule ("limit 100,000.00 USD")."""
    if not text:
        return ""
    return _AMOUNT_WITH_CURRENCY.sub(lambda m: format_money(m.group(1), m.group(2)), str(text))


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def readable_text(text: str) -> str:
    """A stored text (hold reason, approval reason, event reason) as people read the rest of the
    screen: amounts by the money rule, ISO dates in the locale's one date format."""

    def as_date(m: re.Match) -> str:
        try:
            return format_date(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            return m.group(0)

    return _ISO_DATE.sub(as_date, money_in_text(text))

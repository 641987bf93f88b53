"""Money, numbers and dates as the customer's locale writes them (CLDR data through Babel), and
the script a name is written in (so the PDF picks a font that has its glyphs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.utils.dateparse import parse_date, parse_datetime

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})


def babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse((locale or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def language_of(locale: str) -> str:
    return babel_locale(locale).language


def is_rtl(locale: str) -> bool:
    return language_of(locale) in RTL_LANGUAGES


def decimal_of(value) -> Decimal:
    """Amounts arrive as strings (JSON facts): Decimal from the string, never through float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise TypeError("Amounts are Decimal or strings, never float.")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"Not an amount: {value!r}") from exc


def money(value, currency: str, locale: str) -> str:
    """1234.5 EUR -> "€1,234.50" (en), "1.234,50 €" (de_DE), "￥1,235" (ja_JP: JPY has no minor unit)."""
    return format_currency(decimal_of(value), currency, locale=babel_locale(locale))


def number(value, locale: str) -> str:
    return format_decimal(decimal_of(value).normalize(), locale=babel_locale(locale))


def as_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None:
        return parsed.date()
    parsed_date = parse_date(str(value))
    if parsed_date is None:
        raise ValueError(f"Not a date: {value!r}")
    return parsed_date


def long_date(value, locale: str) -> str:
    day = as_date(value)
    return format_date(day, format="long", locale=babel_locale(locale)) if day else ""


def script_lang(text: str) -> str:
    """ "ar", "ja", "zh" or "" for the first non-Latin script in `text`: the PDF stylesheet gives
    each its font (Amiri for Arabic, WenQuanYi Zen Hei for Chinese and Japanese)."""
    for ch in text or "":
        code = ord(ch)
        if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
            return "ar"
        if 0x3040 <= code <= 0x30FF:
            return "ja"
        if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            # Kanji alone cannot tell Japanese from Chinese; a kana elsewhere in the text does.
            return "ja" if any(0x3040 <= ord(c) <= 0x30FF for c in text) else "zh"
    return ""

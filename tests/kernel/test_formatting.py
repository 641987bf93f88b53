"""One formatting rule for money, quantities and dates (issue 14 item 7)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from oms.kernel.formatting import (
    format_date,
    format_datetime,
    format_money,
    format_quantity,
    iso_timestamp,
    money_in_text,
    readable_text,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("22221891.6"), "USD", "22,221,891.60 USD"),
        (Decimal("100000.0000"), "USD", "100,000.00 USD"),
        (Decimal("1234.5"), "JPY", "1,235 JPY"),
        (Decimal("1.2345"), "KWD", "1.235 KWD"),
        (Decimal("-0.21"), "USD", "-0.21 USD"),
        (Decimal("1E+6"), "EUR", "1,000,000.00 EUR"),
    ],
)
def test_money_has_the_currencys_minor_units_and_grouped_thousands(amount, currency, shown):
    assert format_money(amount, currency) == shown


@pytest.mark.parametrize(
    ("quantity", "places", "shown"),
    [
        (Decimal("3E+1"), 0, "30"),  # "on hand is now 3E+1"
        (Decimal("30.0000"), None, "30"),
        (Decimal("999999"), 0, "999,999"),
        (Decimal("2.5"), 3, "2.500"),
        (Decimal("247.50"), 0, "247.5"),  # never hides a fraction already stored
        (Decimal("1E-7"), None, "0.0000001"),
    ],
)
def test_quantities_have_their_units_precision_and_never_exponents(quantity, places, shown):
    text = format_quantity(quantity, places)
    assert text == shown and "E" not in text


def test_dates_have_one_format_per_locale():
    moment = datetime(2026, 12, 3, 13, 5, 59, 123456, tzinfo=UTC)
    with translation.override("en-us"):
        assert format_date(moment) == format_date(moment.date()) == "12/03/2026"
        assert format_datetime(moment) == "12/03/2026 13:05"
    with translation.override("de"):
        assert format_date(date(2026, 12, 3)) == "03.12.2026"


def test_exports_carry_iso_timestamps_without_microseconds():
    assert iso_timestamp(datetime(2026, 12, 3, 13, 5, 59, 123456, tzinfo=UTC)) == "2026-12-03T13:05:59+00:00"


def test_amounts_in_stored_texts_follow_the_money_rule():
    text = "exposure 5000.0000 USD + this order 1234.5 USD > limit 100000.0000 USD."
    assert money_in_text(text) == "exposure 5,000.00 USD + this order 1,234.50 USD > limit 100,000.00 USD."


def test_the_template_filters_are_the_same_helpers():
    rendered = Template(
        "{% load oms_format %}{{ a|money:'USD' }}|{{ a|amount:'JPY' }}|{{ q|qty:3 }}|{{ t|when }}|{{ t|day }}"
    ).render(
        Context(
            {"a": Decimal("22221891.6"), "q": Decimal("3E+1"), "t": datetime(2026, 1, 2, 3, 4, tzinfo=UTC)}
        )
    )
    assert rendered == "22,221,891.60 USD|22,221,892|30.000|01/02/2026 03:04|01/02/2026"


def test_dates_in_stored_texts_follow_the_date_rule():
    with translation.override("en-us"):
        assert (
            readable_text("rate 1.1 on 2026-12-03, limit 500.0000 EUR")
            == "rate 1.1 on 12/03/2026, limit 500.00 EUR"
        )

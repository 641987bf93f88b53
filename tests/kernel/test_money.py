"""Money rules: Decimal only, half-up rounding per currency, largest-remainder spreading."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import (
    allocate,
    convert,
    minor_units,
    quantum,
    round_money,
    to_decimal,
    validate_currency,
)

pytestmark = pytest.mark.unit

D = Decimal


# --- rounding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "USD", "0.13"),  # half up, not banker's rounding (which gives 0.12)
        ("0.135", "USD", "0.14"),
        ("0.1249", "USD", "0.12"),
        ("-0.125", "USD", "-0.13"),  # half away from zero for discounts too
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),
        ("2.4999", "JPY", "2"),
        ("-2.5", "JPY", "-3"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
        ("-1.0005", "KWD", "-1.001"),
        ("10", "USD", "10.00"),
        ("10", "KWD", "10.000"),
    ],
)
def test_round_money_is_half_up_to_the_currency_minor_unit(amount, currency, expected):
    result = round_money(amount, currency)
    assert result == D(expected)
    assert result.as_tuple().exponent == -minor_units(currency)  # scale is the currency's, exactly


def test_minor_units_follow_iso_4217_and_default_to_two():
    assert (minor_units("USD"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert minor_units("jpy") == 0  # case does not matter
    assert minor_units("EUR") == 2
    assert (quantum("USD"), quantum("JPY"), quantum("KWD")) == (D("0.01"), D("1"), D("0.001"))


def test_to_decimal_refuses_float():
    with pytest.raises(TypeError, match="float"):
        to_decimal(0.1)
    with pytest.raises(TypeError):
        round_money(1.005, "USD")
    with pytest.raises(TypeError):
        allocate("1.00", [0.5, 0.5], "USD")


def test_to_decimal_accepts_str_int_and_decimal_exactly():
    assert to_decimal("0.1") + to_decimal("0.2") == D("0.3")
    assert to_decimal(7) == D(7)
    d = D("1.2300")
    assert to_decimal(d) is d


# --- allocate: examples ----------------------------------------------------------------------


def test_allocate_spreads_by_weight_and_sums_exactly():
    assert allocate("10.00", [1, 1, 1], "USD") == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate("100", [D("2"), D("1")], "JPY") == [D("67"), D("33")]
    assert allocate("1.000", [1, 2], "KWD") == [D("0.333"), D("0.667")]


def test_allocate_rounds_the_total_first_half_up():
    parts = allocate("0.005", [1, 1], "USD")  # 0.005 rounds to 0.01
    assert sum(parts) == D("0.01")
    assert parts == [D("0.01"), D("0.00")]


def test_allocate_ties_go_to_the_earlier_line_deterministically():
    assert allocate("0.02", [1, 1, 1], "USD") == [D("0.01"), D("0.01"), D("0.00")]
    assert allocate("5", [3, 3, 3, 3], "JPY") == [D("2"), D("1"), D("1"), D("1")]
    # Same input, same output, every time (no dependence on set/dict ordering).
    assert all(
        allocate("0.05", [1, 2, 1, 2], "USD") == allocate("0.05", [1, 2, 1, 2], "USD") for _ in range(20)
    )


def test_allocate_a_negative_total_mirrors_the_positive_one():
    positive = allocate("10.00", [1, 1, 1], "USD")
    negative = allocate("-10.00", [1, 1, 1], "USD")
    assert negative == [-p for p in positive]
    assert sum(negative) == D("-10.00")


def test_allocate_all_zero_weights_spread_evenly():
    assert allocate("1.00", [0, 0, 0], "USD") == [D("0.34"), D("0.33"), D("0.33")]


def test_allocate_zero_weight_lines_get_nothing_when_others_weigh():
    assert allocate("9.99", [0, 1, 0, 2], "USD") == [D("0.00"), D("3.33"), D("0.00"), D("6.66")]


def test_allocate_refuses_negative_weights_and_money_without_lines():
    with pytest.raises(ValueError, match="negative"):
        allocate("1.00", [1, -1], "USD")
    with pytest.raises(ValueError, match="no lines"):
        allocate("1.00", [], "USD")
    assert allocate("0", [], "USD") == []


# --- allocate: properties --------------------------------------------------------------------

CURRENCIES = st.sampled_from(["USD", "JPY", "KWD"])
# Amount columns are DecimalField(max_digits=20, decimal_places=4): up to 16 integer digits.
TOTALS = st.decimals(
    min_value=D("-9999999999999999.9999"),
    max_value=D("9999999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
WEIGHT = st.one_of(
    st.just(D(0)),
    st.decimals(min_value=D("0"), max_value=D("9999999999999999.9999"), places=4),
    st.integers(min_value=0, max_value=10**6),
)


@pytest.mark.fuzz
@settings(max_examples=1000, deadline=None)
@given(total=TOTALS, weights=st.lists(WEIGHT, min_size=1, max_size=12), currency=CURRENCIES)
# Large totals times large weights exceed 28 significant digits (Decimal's default precision).
@example(
    total=D("9999999999999999.9999"),
    weights=[D("9999999999999999.9999"), D("1"), D("3333333333333333.3333")],
    currency="KWD",
)
@example(total=D("0.01"), weights=[D("0.0001")] * 3, currency="USD")
def test_allocate_parts_are_exact_quantized_and_within_one_quantum(total, weights, currency):
    parts = allocate(total, weights, currency)
    q = quantum(currency)
    rounded = round_money(total, currency)

    assert len(parts) == len(weights)
    assert sum(parts) == rounded  # exactly, no cent lost or invented
    for part in parts:
        assert part % q == 0  # a whole number of minor units
        assert part == 0 or (part > 0) == (rounded > 0)  # a discount never spreads into a charge

    ws = [Fraction(w) for w in weights]
    if sum(ws) == 0:
        ws = [Fraction(1)] * len(ws)
    for part, w in zip(parts, ws, strict=True):
        exact_share = Fraction(rounded) * w / sum(ws)
        assert abs(Fraction(part) - exact_share) < Fraction(q)


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(total=TOTALS, weights=st.lists(WEIGHT, min_size=1, max_size=8), currency=CURRENCIES)
def test_allocate_is_deterministic_and_sign_symmetric(total, weights, currency):
    first = allocate(total, weights, currency)
    assert allocate(total, list(weights), currency) == first
    assert allocate(-total, weights, currency) == [-p for p in first]


# --- convert and currencies ------------------------------------------------------------------


def test_convert_multiplies_by_the_rate_and_rounds_once_to_the_target_currency():
    assert convert(D("100.00"), D("151.235"), "JPY") == D("15124")  # 15123.5 -> half up
    assert convert(D("100.00"), D("0.30715"), "KWD") == D("30.715")
    assert convert(D("19.99"), D("0.9125"), "EUR") == D("18.24")  # 18.240875
    assert convert("10", "1.0005", "USD") == D("10.01")  # 10.005 -> half up


def test_convert_refuses_float_amounts_and_rates():
    with pytest.raises(TypeError):
        convert(D("1"), 1.1, "USD")
    with pytest.raises(TypeError):
        convert(1.1, D("1"), "USD")


@pytest.mark.parametrize("code", ["USD", "usd", "JPY", "KWD", "EUR"])
def test_validate_currency_accepts_known_codes_case_insensitively(code):
    assert validate_currency(code) == code.upper()


@pytest.mark.parametrize("code", ["", None, "US", "USDD", "XXX", "12A", "ZZZ"])
def test_validate_currency_refuses_unknown_codes_with_a_field_error(code):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_currency(code)
    assert exc_info.value.code == "validation_failed"
    assert "currency" in exc_info.value.fields

"""A line rule's conditions at their boundaries, in the engine (pure, no database): a rule naming
a category and a brand needs both; a line minimum holds at exactly the minimum; order-level
minimums (quantity, amount) hold at exactly the minimum and not a unit below."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pricing.engine import (
    AssignmentFacts,
    ItemFacts,
    LineRequest,
    PriceListFacts,
    PriceRequest,
    PricingSnapshot,
    ProductFacts,
    RateFacts,
    RuleFacts,
    RuleSet,
    StrategyFacts,
    price,
)

pytestmark = pytest.mark.unit

ON = date(2026, 5, 20)
# P1: category 1, brand 1; P2: category 1, brand 2; P3: category 2, brand 1. Each 10.00 a unit.
PRODUCTS = {
    f"P{pid}": ProductFacts(
        id=pid, sku=f"P{pid}", category_id=cat, brand_id=brand, tax_class_id=1, category_path=frozenset({cat})
    )
    for pid, cat, brand in ((1, 1, 1), (2, 1, 2), (3, 2, 1))
}
ITEMS = {
    pid: (ItemFacts(id=pid, price_list_id=1, product_id=pid, uom="EA", unit_price=Decimal("10.00")),)
    for pid in (1, 2, 3)
}


def _price(rule: RuleFacts, *lines: tuple[str, int]):
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", "USD")],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=[rule],
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=ON, products=PRODUCTS, items=ITEMS)
    request = PriceRequest(
        currency="USD", lines=tuple(LineRequest(sku=sku, quantity=Decimal(q)) for sku, q in lines)
    )
    return [line.line_discount for line in price(request, snapshot).lines]


def test_a_rule_naming_a_category_and_a_brand_applies_only_where_both_match():
    rule = RuleFacts(
        id=1,
        code="acme-tools",
        action="percent_off",
        value=Decimal("10"),
        category_ids=frozenset({1}),
        brand_ids=frozenset({1}),
    )
    assert _price(rule, ("P1", 1), ("P2", 1), ("P3", 1)) == [
        Decimal("1.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]


@pytest.mark.parametrize(("quantity", "discount"), [(2, "0.00"), (3, "3.00"), (4, "4.00")])
def test_a_line_minimum_holds_from_exactly_the_minimum(quantity, discount):
    # Two dimensions, so the rule takes the engine's general path (not the one-dimension fast path).
    rule = RuleFacts(
        id=1,
        code="three-plus",
        action="percent_off",
        value=Decimal("10"),
        category_ids=frozenset({1}),
        brand_ids=frozenset({1}),
        min_quantity=Decimal(3),
    )
    assert _price(rule, ("P1", quantity)) == [Decimal(discount)]


@pytest.mark.parametrize(
    ("lines", "discounts"),
    [
        ((("P1", 2), ("P3", 2)), ["0.00", "0.00"]),  # 4 units in the order: below 5
        ((("P1", 2), ("P3", 3)), ["2.00", "0.00"]),  # 5 units: the P1 line gets its 10%
    ],
)
def test_an_order_quantity_minimum_counts_every_line_of_the_order(lines, discounts):
    rule = RuleFacts(
        id=1,
        code="five-in-order",
        action="percent_off",
        value=Decimal("10"),
        product_ids=frozenset({1}),
        min_order_quantity=Decimal(5),
    )
    assert _price(rule, *lines) == [Decimal(d) for d in discounts]


@pytest.mark.parametrize(
    ("lines", "discounts"),
    [
        ((("P1", 1), ("P3", 8)), ["0.00", "0.00"]),  # 90.00 of goods: below 100
        ((("P1", 1), ("P3", 9)), ["1.00", "0.00"]),  # exactly 100.00
    ],
)
def test_an_order_amount_minimum_holds_from_exactly_the_amount(lines, discounts):
    rule = RuleFacts(
        id=1,
        code="hundred-in-order",
        action="percent_off",
        value=Decimal("10"),
        product_ids=frozenset({1}),
        currency="USD",
        min_order_amount=Decimal(100),
    )
    assert _price(rule, *lines) == [Decimal(d) for d in discounts]


def _general(action: str, value: str, **extra) -> RuleFacts:
    """A rule with two dimensions: the engine's general path (not the one-dimension fast path)."""
    return RuleFacts(
        id=1,
        code=action,
        action=action,
        value=Decimal(value),
        category_ids=frozenset({1}),
        brand_ids=frozenset({1}),
        **extra,
    )


def test_on_the_general_path_a_markup_raises_and_an_amount_off_takes_per_unit():
    assert _price(_general("markup", "10"), ("P1", 3)) == [Decimal("-3.00")]  # 30.00 -> 33.00
    assert _price(_general("amount_off", "1.50", currency="USD"), ("P1", 3)) == [Decimal("4.50")]


def test_on_the_general_path_a_percentage_rounds_half_up():
    # 10.00 x 1 at 0.05% = 0.005: half a cent rounds up (half-even would give 0.00).
    assert _price(_general("percent_off", "0.05"), ("P1", 1)) == [Decimal("0.01")]
    # 10.00 x 3 at 0.05% = 0.015 -> 0.02 (half-even would also give 0.02; the first case decides).
    assert _price(_general("percent_off", "0.05"), ("P1", 3)) == [Decimal("0.02")]


def _price_all(rules: list[RuleFacts], *lines: tuple[str, int]):
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", "USD")],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=rules,
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=ON, products=PRODUCTS, items=ITEMS)
    request = PriceRequest(
        currency="USD", lines=tuple(LineRequest(sku=sku, quantity=Decimal(q)) for sku, q in lines)
    )
    return [line.line_discount for line in price(request, snapshot).lines]


def test_on_the_general_path_a_list_rule_accumulates_and_a_net_rule_cascades():
    first = _general("percent_off", "10", priority=1)
    on_list = RuleFacts(**{**_fields(_general("percent_off", "10", apply_on="list")), "id": 2, "priority": 2})
    on_net = RuleFacts(**{**_fields(_general("percent_off", "10", apply_on="net")), "id": 2, "priority": 2})
    assert _price_all([first, on_list], ("P1", 10)) == [Decimal("20.00")]  # 10 + 10% of 100
    assert _price_all([first, on_net], ("P1", 10)) == [Decimal("19.00")]  # 10 + 10% of 90


def test_on_the_general_path_a_price_override_and_buy_two_get_one():
    assert _price(_general("price_override", "7.50", currency="USD"), ("P1", 2)) == [Decimal("5.00")]
    free_third = _general("buy_x_get_y", "100", buy_quantity=2, get_quantity=1)
    assert _price(free_third, ("P1", 3)) == [Decimal("10.00")]
    assert _price(free_third, ("P1", 2)) == [Decimal("0.00")]  # not enough units for a free one
    assert _price(free_third, ("P1", 7)) == [Decimal("20.00")]  # two groups of three


def test_on_the_general_path_an_amount_off_rounds_half_up():
    assert _price(_general("amount_off", "0.005", currency="USD"), ("P1", 1)) == [Decimal("0.01")]


def _fields(rule: RuleFacts) -> dict:
    from dataclasses import fields

    return {f.name: getattr(rule, f.name) for f in fields(rule) if f.init}


def test_on_the_general_path_free_units_scale_by_the_rule_and_round_half_up():
    half_off_third = _general("buy_x_get_y", "50", buy_quantity=2, get_quantity=1)
    assert _price(half_off_third, ("P1", 3)) == [Decimal("5.00")]
    buy_one_get_two = _general("buy_x_get_y", "100", buy_quantity=1, get_quantity=2)
    assert _price(buy_one_get_two, ("P1", 3)) == [Decimal("20.00")]
    tiny = _general("buy_x_get_y", "0.05", buy_quantity=2, get_quantity=1)
    assert _price(tiny, ("P1", 3)) == [Decimal("0.01")]  # 0.005: half up


def test_on_the_general_path_an_override_rounds_half_up_and_a_discount_stops_at_zero():
    override = _general("price_override", "0.005", currency="USD")
    assert _price(override, ("P1", 1)) == [Decimal("9.99")]  # the new price 0.005 rounds to 0.01
    too_much = _general("amount_off", "20", currency="USD")
    assert _price(too_much, ("P1", 1)) == [Decimal("10.00")]  # never below zero


@pytest.mark.parametrize(
    ("action", "value", "quantity", "discount"),
    [
        # 2.00 EUR off a unit at 1.0831: 3 x 2.1662 = 6.4986 -> 6.50 USD (6.00 if its currency were lost)
        ("amount_off", "2.00", 3, "6.50"),
        # 5.00 EUR a unit is 5.4155 USD: 2 units cost 10.83 instead of 20.00, a discount of 9.17
        ("price_override", "5.00", 2, "9.17"),
    ],
)
def test_an_amount_rule_in_another_currency_is_converted_at_the_dated_rate(action, value, quantity, discount):
    rule = RuleFacts(
        id=1, code="eur-rule", action=action, value=Decimal(value), currency="EUR", product_ids=frozenset({1})
    )
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", "USD")],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=[rule],
        rates=[RateFacts("EUR", "USD", Decimal("1.0831"), date(2026, 5, 1))],
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=ON, products=PRODUCTS, items=ITEMS)
    request = PriceRequest(currency="USD", lines=(LineRequest(sku="P1", quantity=Decimal(quantity)),))
    (line,) = price(request, snapshot).lines
    assert line.line_discount == Decimal(discount)


@pytest.mark.parametrize(
    ("lines", "order_discount"),
    [
        ((("P1", 2), ("P3", 2)), "0.00"),  # 4 units in the order: below 5, no discount
        ((("P1", 2), ("P3", 3)), "5.00"),  # exactly 5 units: 10% of the 50.00 order
        ((("P1", 4), ("P3", 3)), "7.00"),  # 7 units: 10% of 70.00
    ],
)
def test_an_order_level_rule_with_a_quantity_minimum_counts_the_units_of_the_order(lines, order_discount):
    # An order-level rule (level="order"): its quantity minimum is checked against the order's units.
    rule = RuleFacts(
        id=1,
        code="order-five",
        action="percent_off",
        value=Decimal("10"),
        level="order",
        min_order_quantity=Decimal(5),
    )
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", "USD")],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=[rule],
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=ON, products=PRODUCTS, items=ITEMS)
    request = PriceRequest(
        currency="USD", lines=tuple(LineRequest(sku=sku, quantity=Decimal(q)) for sku, q in lines)
    )
    result = price(request, snapshot)
    # The oracle: 10.00 a unit, 10% off the whole order once it holds 5 units or more.
    units = sum(q for _, q in lines)
    expected = (
        (Decimal("10.00") * units * Decimal("0.10")).quantize(Decimal("0.01"))
        if units >= 5
        else Decimal("0.00")
    )
    assert expected == Decimal(order_discount)
    assert result.totals.order_discount == expected
    assert sum(line.order_discount for line in result.lines) == expected
    assert all(line.line_discount == Decimal("0.00") for line in result.lines)
    assert result.totals.net == Decimal("10.00") * units - expected

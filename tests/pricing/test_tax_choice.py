"""Which tax rule the engine charges (pure, no database): a rule counts from its first day to its
last day inclusive, the newest dated rule wins over an older one, a rule for the ship-to's region
wins over the country's, and a rule for another region is passed over, whatever the order the
rules come in. The tax is recomputed in the test from the rule it should pick."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from pricing.engine import (
    AssignmentFacts,
    ItemFacts,
    LineRequest,
    PriceListFacts,
    PriceRequest,
    PricingSnapshot,
    ProductFacts,
    RuleSet,
    ShipTo,
    StrategyFacts,
    TaxRuleFacts,
    price,
)

pytestmark = pytest.mark.unit

PRODUCTS = {"P1": ProductFacts(id=1, sku="P1", category_id=1, brand_id=1, tax_class_id=1)}
ITEMS = {1: (ItemFacts(id=1, price_list_id=1, product_id=1, uom="EA", unit_price=Decimal("10.00")),)}

# Germany, tax class 1: 19% since January; a temporary 16% from 1 March to 19 May inclusive (a newer
# rule than the 19%, so it wins while it lasts); 21% from 21 May. Listed newest first, so that
# neither "the first found" nor "the last found" is the right answer by accident.
DE_RULES = [
    TaxRuleFacts(3, "DE 21", "DE", "", 1, Decimal("21"), valid_from=date(2026, 5, 21)),
    TaxRuleFacts(2, "DE 16", "DE", "", 1, Decimal("16"), date(2026, 3, 1), date(2026, 5, 19)),
    TaxRuleFacts(1, "DE 19", "DE", "", 1, Decimal("19"), valid_from=date(2026, 1, 1)),
    TaxRuleFacts(4, "DE other class", "DE", "", 2, Decimal("7")),
]
# The United States: no tax country-wide, 7.25% in California, 8.875% in New York.
US_RULES = [
    TaxRuleFacts(5, "CA sales tax", "US", "CA", 1, Decimal("7.25")),
    TaxRuleFacts(6, "US none", "US", "", 1, Decimal("0")),
    TaxRuleFacts(7, "NY sales tax", "US", " ny ", 1, Decimal("8.875")),
]


def _tax(on: date, ship_to: ShipTo, quantity: int = 3):
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", "EUR")],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        tax_rules=DE_RULES + US_RULES,
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=on, products=PRODUCTS, items=ITEMS)
    request = PriceRequest(
        currency="EUR", lines=(LineRequest(sku="P1", quantity=Decimal(quantity)),), ship_to=ship_to
    )
    (line,) = price(request, snapshot).lines
    return line.tax_rate, line.tax


def _expected(rate: str, quantity: int = 3) -> tuple[Decimal, Decimal]:
    tax = (Decimal("10.00") * quantity * Decimal(rate) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return Decimal(rate), tax


@pytest.mark.parametrize(
    ("on", "rate"),
    [
        (date(2025, 12, 31), None),  # before any rule of the class: no tax
        (date(2026, 1, 1), "19"),  # the 19% from its first day
        (date(2026, 2, 28), "19"),
        (date(2026, 3, 1), "16"),  # the newer 16% from its first day
        (date(2026, 5, 19), "16"),  # ... to its last day inclusive
        (date(2026, 5, 20), "19"),  # then the 19% again
        (date(2026, 5, 21), "21"),  # the newest rule from its first day
    ],
)
def test_a_dated_tax_rule_counts_from_its_first_to_its_last_day_and_the_newest_wins(on, rate):
    if rate is None:
        assert _tax(on, ShipTo("DE", "HH")) == (Decimal(0), Decimal("0.00"))
    else:
        assert _tax(on, ShipTo("DE", "HH")) == _expected(rate)


def test_the_ship_tos_region_wins_and_another_regions_rule_is_passed_over():
    on = date(2026, 5, 20)
    assert _tax(on, ShipTo("US", "NY")) == _expected("8.875")  # 30.00 x 8.875% = 2.6625 -> 2.66
    assert _tax(on, ShipTo("US", "ca")) == _expected("7.25")  # 2.175 -> 2.18 (half up)
    assert _tax(on, ShipTo("US", "PA")) == _expected("0")  # no rule for PA: the country's
    assert _tax(on, ShipTo("us", "NY"), quantity=1) == _expected("8.875", 1)  # 0.8875 -> 0.89

"""Money (hypothesis, 1,000 random orders): order-level discounts and shipping spread by largest
remainder make the lines add up exactly to the order amounts, in USD, JPY (0 digits) and KWD (3
digits); every amount is a Decimal in the currency's minor unit; FX uses the dated rate."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.kernel.money import quantum
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
    ShippingRuleFacts,
    ShipTo,
    StrategyFacts,
    TaxRuleFacts,
    price,
)

pytestmark = [pytest.mark.unit, pytest.mark.fuzz]

ON = date(2026, 5, 20)
RATES = [
    RateFacts("EUR", "USD", Decimal("1.0831"), date(2026, 5, 1)),
    RateFacts("EUR", "USD", Decimal("1.9999"), date(2026, 5, 21)),  # after the pricing date: never used
    RateFacts("EUR", "JPY", Decimal("163.37"), date(2026, 4, 30)),
    RateFacts("EUR", "KWD", Decimal("0.33291"), date(2026, 5, 2)),
]
USED_RATE = {
    "USD": (Decimal("1.0831"), date(2026, 5, 1)),
    "JPY": (Decimal("163.37"), date(2026, 4, 30)),
    "KWD": (Decimal("0.33291"), date(2026, 5, 2)),
}

prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=4, allow_nan=False)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("60"), places=2, allow_nan=False)


@st.composite
def orders(draw):
    currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    n = draw(st.integers(min_value=1, max_value=25))
    products, items, lines = {}, {}, []
    for i in range(n):
        pid = i + 1
        sku = f"P{pid}"
        products[sku] = ProductFacts(
            id=pid,
            sku=sku,
            category_id=1 + i % 3,
            brand_id=1 + i % 2,
            tax_class_id=1 + i % 2,
            weight_kg=draw(st.decimals(min_value=0, max_value=50, places=3, allow_nan=False)),
            category_path=frozenset({1 + i % 3}),
        )
        list_id = draw(st.sampled_from([1, 2]))  # 1: order currency, 2: EUR (converted)
        items[pid] = (
            ItemFacts(id=pid, price_list_id=list_id, product_id=pid, uom="EA", unit_price=draw(prices)),
        )
        qty = Decimal(draw(st.integers(min_value=1, max_value=40))) / draw(st.sampled_from([1, 2, 4]))
        lines.append(LineRequest(sku=sku, quantity=qty))
    rules = [
        RuleFacts(
            id=k + 1,
            code=f"r{k}",
            action="percent_off",
            value=draw(percents),
            apply_on=draw(st.sampled_from(["net", "list"])),
            category_ids=frozenset({1 + k % 3}),
        )
        for k in range(draw(st.integers(0, 4)))
    ]
    rules.append(
        RuleFacts(id=100, code="order-pct", level="order", action="percent_off", value=draw(percents))
    )
    rules.append(
        RuleFacts(
            id=101,
            code="order-amt",
            level="order",
            action="amount_off",
            currency="EUR",
            value=draw(st.decimals(min_value=0, max_value=300, places=2, allow_nan=False)),
        )
    )
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", currency), PriceListFacts(2, "eur", "EUR")],
        strategies=[StrategyFacts(1, "default", list_ids=(1, 2))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=rules,
        tax_rules=[
            TaxRuleFacts(1, "standard", "US", "", 1, draw(st.decimals(0, 25, places=3, allow_nan=False))),
            TaxRuleFacts(2, "reduced", "US", "", 2, draw(st.decimals(0, 10, places=3, allow_nan=False))),
        ],
        shipping_rules=[
            ShippingRuleFacts(
                1,
                "ground",
                "ground",
                "EUR",
                flat_amount=draw(prices) / 100,
                per_kg_amount=draw(st.decimals(0, 3, places=4, allow_nan=False)),
                taxable=draw(st.booleans()),
            )
        ],
        rates=RATES,
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=ON, products=products, items=items)
    request = PriceRequest(currency=currency, lines=tuple(lines), ship_to=ShipTo("US"), ship_method="ground")
    return request, snapshot


def _walk(value):
    if is_dataclass(value):
        for f in fields(value):
            yield from _walk(getattr(value, f.name))
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    else:
        yield value


@settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(orders())
def test_lines_add_up_exactly_to_the_order_in_every_currency(order):
    request, snapshot = order
    result = price(request, snapshot)
    q = quantum(request.currency)
    assert not any(isinstance(v, float) for v in _walk(result)), "no float anywhere"

    per_rule: dict[str, Decimal] = {}
    rule_amount: dict[str, Decimal] = {}
    shipping_amount = None
    for ln in result.lines:
        for amount in (
            ln.list_amount,
            ln.line_discount,
            ln.order_discount,
            ln.net,
            ln.shipping,
            ln.tax,
            ln.total,
        ):
            assert isinstance(amount, Decimal) and amount == amount.quantize(q), amount
            assert amount.as_tuple().exponent == q.as_tuple().exponent
        assert ln.net == ln.list_amount - ln.line_discount - ln.order_discount
        assert ln.total == ln.net + ln.shipping + ln.tax
        assert ln.net >= 0
        for c in ln.components:
            if c.kind == "order_discount":
                per_rule[c.rule] = per_rule.get(c.rule, Decimal(0)) - c.amount
                rule_amount[c.rule] = c.detail["order_amount"]
            if c.kind == "shipping":
                shipping_amount = c.detail["order_amount"]
        if ln.fx is not None:  # the dated rate: latest on or before the pricing date
            rate, valid_on = USED_RATE[request.currency]
            assert (ln.fx.rate, ln.fx.valid_on, ln.fx.base) == (rate, valid_on, "EUR")
            item = snapshot.items[ln.product_id][0]
            exact = item.unit_price * ln.quantity * rate
            assert ln.list_amount == exact.quantize(q, ROUND_HALF_UP)  # rounded once, after converting

    # Order-level amounts spread over the lines add up to exactly what the order got.
    assert per_rule == rule_amount
    assert result.totals.shipping == (shipping_amount if shipping_amount is not None else 0)
    # The order total is exactly the sum of the lines.
    t = result.totals
    assert t.total == sum(ln.total for ln in result.lines)
    assert t.net == sum(ln.net for ln in result.lines)
    assert t.tax == sum(ln.tax for ln in result.lines)
    assert t.order_discount == sum(rule_amount.values(), Decimal(0))
    assert t.total == t.list_amount - t.line_discount - t.order_discount + t.shipping + t.tax

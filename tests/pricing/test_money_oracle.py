"""Money against an independent oracle (hypothesis): every line's discounts, order discount,
shipping share and tax are recomputed here from the rules the test made up -- list price, the
stacked line percentages (cascade or accumulate), the order percentage spread by largest
remainder, the flat shipping spread the same way, and tax at the rate of the product's tax class on
its net (plus its shipping share when shipping is taxable) -- and compared with what the engine
charged. Nothing is read back from the engine's own figures to check another of its figures."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.engine import (
    AssignmentFacts,
    ItemFacts,
    LineRequest,
    PriceListFacts,
    PriceRequest,
    PricingSnapshot,
    ProductFacts,
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
MINOR = {"USD": Decimal("0.01"), "JPY": Decimal("1"), "KWD": Decimal("0.001")}

unit_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000"), places=4, allow_nan=False)
# At most four line rules of at most 20% each: an accumulated chain never reaches the list amount,
# so the engine's "never below zero" cap stays out of the oracle's way.
line_percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("20"), places=2, allow_nan=False)
tax_rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("27"), places=3, allow_nan=False)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(MINOR[currency], ROUND_HALF_UP)


def _largest_remainder(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Spread `total` over `weights` in minor units; the remainder to the largest fractions, ties
    to the earlier line (docs/pricing.md, rounding boundaries 3 and 4)."""
    q = MINOR[currency]
    units = int(total / q)
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights, weight_sum = [Decimal(1)] * len(weights), Decimal(len(weights))
    exact = [Decimal(units) * w / weight_sum for w in weights]
    parts = [int(e) for e in exact]
    for i in sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))[: units - sum(parts)]:
        parts[i] += 1
    return [Decimal(p) * q for p in parts]


@st.composite
def priced_orders(draw):
    currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    n = draw(st.integers(min_value=1, max_value=12))
    products, items, lines = {}, {}, []
    for i in range(n):
        pid = i + 1
        category = 1 + draw(st.integers(0, 2))
        products[f"P{pid}"] = ProductFacts(
            id=pid,
            sku=f"P{pid}",
            category_id=category,
            brand_id=1,
            tax_class_id=1 + draw(st.integers(0, 1)),
            category_path=frozenset({category}),
        )
        items[pid] = (
            ItemFacts(id=pid, price_list_id=1, product_id=pid, uom="EA", unit_price=draw(unit_prices)),
        )
        lines.append(LineRequest(sku=f"P{pid}", quantity=Decimal(draw(st.integers(1, 30)))))
    line_rules = [
        RuleFacts(
            id=k + 1,
            code=f"line-{k}",
            action="percent_off",
            value=draw(line_percents),
            priority=draw(st.integers(1, 3)),
            apply_on=draw(st.sampled_from(["net", "list"])),
            category_ids=frozenset({draw(st.integers(1, 3))}),
        )
        for k in range(draw(st.integers(0, 4)))
    ]
    order_rule = RuleFacts(
        id=100, code="order-pct", level="order", action="percent_off", value=draw(line_percents)
    )
    shipping = ShippingRuleFacts(
        1,
        "ground",
        "ground",
        currency,
        flat_amount=draw(st.decimals(min_value=0, max_value=90, places=3, allow_nan=False)),
        taxable=draw(st.booleans()),
    )
    rates = {1: draw(tax_rates), 2: draw(tax_rates)}
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", currency)],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=[*line_rules, order_rule],
        tax_rules=[
            TaxRuleFacts(1, "standard", "US", "", 1, rates[1]),
            TaxRuleFacts(2, "reduced", "US", "", 2, rates[2]),
        ],
        shipping_rules=[shipping],
    )
    snapshot = PricingSnapshot(ruleset=ruleset, pricing_date=ON, products=products, items=items)
    request = PriceRequest(currency=currency, lines=tuple(lines), ship_to=ShipTo("US"), ship_method="ground")
    facts = {
        "currency": currency,
        "line_rules": line_rules,
        "order_percent": order_rule.value,
        "shipping": shipping,
        "tax_rates": rates,
    }
    return request, snapshot, facts


def _oracle(request: PriceRequest, snapshot: PricingSnapshot, facts: dict) -> list[dict[str, Decimal]]:
    """What each line must be charged, from the rules alone."""
    currency = facts["currency"]
    # Precedence among line rules of one level: priority, then id.
    chain = sorted(facts["line_rules"], key=lambda r: (r.priority, r.id))
    out = []
    for req in request.lines:
        product = snapshot.products[req.sku]
        unit = snapshot.items[product.id][0].unit_price
        list_amount = _round(unit * req.quantity, currency)
        running = list_amount
        for rule in chain:
            if product.category_id not in rule.category_ids:
                continue
            base = list_amount if rule.apply_on == "list" else running
            running -= _round(base * rule.value / 100, currency)
        out.append({"list": list_amount, "line_discount": list_amount - running, "running": running})
    subtotal = sum(line["running"] for line in out)
    order_discount = _round(subtotal * facts["order_percent"] / 100, currency)
    for line, share in zip(
        out, _largest_remainder(order_discount, [line["running"] for line in out], currency), strict=True
    ):
        line["order_discount"] = share
        line["net"] = line["running"] - share
    charge = _round(facts["shipping"].flat_amount, currency)
    for line, share in zip(
        out, _largest_remainder(charge, [line["net"] for line in out], currency), strict=True
    ):
        line["shipping"] = share
    for req, line in zip(request.lines, out, strict=True):
        rate = facts["tax_rates"][snapshot.products[req.sku].tax_class_id]
        taxable = line["net"] + (line["shipping"] if facts["shipping"].taxable else 0)
        line["tax"] = _round(taxable * rate / 100, currency)
        line["total"] = line["net"] + line["shipping"] + line["tax"]
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(priced_orders())
def test_every_line_is_charged_what_the_rules_say_recomputed_independently(order):
    request, snapshot, facts = order
    result = price(request, snapshot)
    expected = _oracle(request, snapshot, facts)
    assert len(result.lines) == len(expected)
    for got, want in zip(result.lines, expected, strict=True):
        assert got.list_amount == want["list"]
        assert got.line_discount == want["line_discount"]
        assert got.order_discount == want["order_discount"]
        assert got.net == want["net"]
        assert got.shipping == want["shipping"]
        assert got.tax == want["tax"], f"line {got.index}: tax {got.tax}, the rules say {want['tax']}"
        assert got.total == want["total"]
    assert result.totals.tax == sum(w["tax"] for w in expected)
    assert result.totals.total == sum(w["total"] for w in expected)


def test_tax_is_the_rate_of_the_products_class_on_net_plus_taxable_shipping():
    """One order worked by hand: 3 x 19.99 at 10% off, shipping 5.00 taxable, 8.25% tax."""
    product = ProductFacts(
        id=1, sku="A", category_id=1, brand_id=1, tax_class_id=1, category_path=frozenset({1})
    )
    ruleset = RuleSet(
        price_lists=[PriceListFacts(1, "home", "USD")],
        strategies=[StrategyFacts(1, "default", list_ids=(1,))],
        assignments=[AssignmentFacts(1, 1, "default")],
        rules=[RuleFacts(id=1, code="ten", action="percent_off", value=Decimal("10"))],
        tax_rules=[TaxRuleFacts(1, "standard", "US", "", 1, Decimal("8.25"))],
        shipping_rules=[
            ShippingRuleFacts(1, "ground", "ground", "USD", flat_amount=Decimal("5"), taxable=True)
        ],
    )
    snapshot = PricingSnapshot(
        ruleset=ruleset,
        pricing_date=ON,
        products={"A": product},
        items={1: (ItemFacts(id=1, price_list_id=1, product_id=1, uom="EA", unit_price=Decimal("19.99")),)},
    )
    request = PriceRequest(
        currency="USD",
        lines=(LineRequest(sku="A", quantity=Decimal(3)),),
        ship_to=ShipTo("US"),
        ship_method="ground",
    )
    line = price(request, snapshot).lines[0]
    # 59.97 list, 6.00 off (5.997 rounded), 53.97 net, + 5.00 shipping = 58.97 taxable, 8.25% = 4.865 -> 4.87
    assert (line.list_amount, line.line_discount, line.net) == (
        Decimal("59.97"),
        Decimal("6.00"),
        Decimal("53.97"),
    )
    assert line.shipping == Decimal("5.00")
    assert line.tax == Decimal("4.87")
    assert line.total == Decimal("63.84")

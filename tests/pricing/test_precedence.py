"""Who gets which price: precedence of strategies and rules, stacking, exclusivity, best price, dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from customers.models import DemandClass
from pricing.models import (
    ApplyOn,
    AssignmentLevel,
    Combination,
    ListSelection,
    RuleAction,
    RuleLevel,
)
from tests.factories.customers import CustomerFactory
from tests.factories.pricing import (
    CouponFactory,
    DiscountRuleFactory,
    ExchangeRateFactory,
    PriceListFactory,
    PriceListItemFactory,
    PricingSegmentFactory,
    PricingStrategyFactory,
    StrategyAssignmentFactory,
)

from .conftest import line, quote, trace_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _list_with(code: str, product, price: str, currency: str = "USD"):
    plist = PriceListFactory(code=code, currency=currency)
    PriceListItemFactory(price_list=plist, product=product, uom=product.uom, unit_price=D(price))
    return plist


def test_customer_specific_beats_segment_beats_channel_beats_default(world):
    segment = PricingSegmentFactory(code="priority", demand_class=DemandClass.PRIORITY)
    for level, price, target in (
        (AssignmentLevel.CUSTOMER, "80.00", {"customer": world.customer}),
        (AssignmentLevel.SEGMENT, "90.00", {"segment": segment}),
        (AssignmentLevel.CHANNEL, "95.00", {"channel": world.web}),
    ):
        strategy = PricingStrategyFactory(
            code=f"s-{level}", lists=[_list_with(f"l-{level}", world.drill, price)]
        )
        StrategyAssignmentFactory(strategy=strategy, level=level, **target)
    other_priority = CustomerFactory(account_number="C-2", demand_class=DemandClass.PRIORITY)
    standard = CustomerFactory(account_number="C-3", demand_class=DemandClass.STANDARD)

    def price_for(**kw):
        return quote(line("DRILL-1"), **kw).lines[0]

    first = price_for(customer_account="C-1", channel_code="web")
    assert (first.list_amount, first.price_list) == (D("80.00"), "l-customer")
    assert (
        price_for(customer_account=other_priority.account_number, channel_code="web").price_list
        == "l-segment"
    )
    assert price_for(customer_account=standard.account_number, channel_code="web").price_list == "l-channel"
    assert price_for(customer_account=standard.account_number).price_list == "usd-default"
    assert price_for().list_amount == D("100.00")  # anonymous, no channel: the default


def test_a_list_without_the_item_falls_through_to_the_next_level(world):
    strategy = PricingStrategyFactory(code="vip", lists=[_list_with("vip", world.saw, "40.00")])
    StrategyAssignmentFactory(strategy=strategy, level=AssignmentLevel.CUSTOMER, customer=world.customer)
    result = quote(line("DRILL-1"), line("SAW-1"), customer_account="C-1")
    assert [ln.price_list for ln in result.lines] == ["usd-default", "vip"]
    assert ("line 1", "skipped", "no price for DRILL-1 in EA") in trace_of(result, "vip")


def test_customer_specific_rule_beats_segment_rule(world):
    segment = PricingSegmentFactory(code="priority", demand_class=DemandClass.PRIORITY)
    DiscountRuleFactory(
        code="seg-override",
        action=RuleAction.PRICE_OVERRIDE,
        value=D("75"),
        currency="USD",
        priority=1,
        conditions={"segments": [segment]},
    )
    DiscountRuleFactory(
        code="cust-override",
        action=RuleAction.PRICE_OVERRIDE,
        value=D("70"),
        currency="USD",
        priority=99,
        conditions={"customers": [world.customer]},
    )
    result = quote(line("DRILL-1", 2), customer_account="C-1")
    assert result.lines[0].net == D("140.00")
    assert [c.rule for c in result.lines[0].components if c.kind == "discount"] == ["cust-override"]
    assert ("line 1", "skipped", "price already set by cust-override") in trace_of(result, "seg-override")
    # A customer outside the segment and not named gets neither.
    other = CustomerFactory(account_number="C-9", demand_class=DemandClass.STANDARD)
    assert quote(line("DRILL-1", 2), customer_account=other.account_number).lines[0].net == D("200.00")


def test_cascade_takes_each_discount_on_the_running_net(world):
    DiscountRuleFactory(code="a", value=D("10"), priority=1)
    DiscountRuleFactory(code="b", value=D("10"), priority=2)
    result = quote(line("DRILL-1"))
    assert result.lines[0].net == D("81.00")  # 100 - 10 - 9
    assert [c.amount for c in result.lines[0].components if c.kind == "discount"] == [D("-10.00"), D("-9.00")]


def test_cumulative_takes_each_discount_on_the_list_amount(world):
    DiscountRuleFactory(code="a", value=D("10"), priority=1, apply_on=ApplyOn.LIST)
    DiscountRuleFactory(code="b", value=D("10"), priority=2, apply_on=ApplyOn.LIST)
    assert quote(line("DRILL-1")).lines[0].net == D("80.00")  # 100 - 10 - 10


def test_an_exclusive_rule_applies_and_stops_the_chain(world):
    DiscountRuleFactory(code="first", value=D("10"), priority=1)
    DiscountRuleFactory(code="stopper", value=D("5"), priority=2, combination=Combination.EXCLUSIVE)
    DiscountRuleFactory(code="never", value=D("20"), priority=3)
    result = quote(line("DRILL-1"))
    assert result.lines[0].net == D("85.50")  # 100 -> 90 -> 85.50
    assert ("line 1", "skipped", "exclusive rule stopper stopped the chain") in trace_of(result, "never")


def test_best_price_applies_only_the_lowest_of_its_group(world):
    DiscountRuleFactory(code="pct", value=D("10"), combination=Combination.BEST_PRICE, priority=1)
    DiscountRuleFactory(
        code="amt",
        action=RuleAction.AMOUNT_OFF,
        value=D("12"),
        currency="USD",
        combination=Combination.BEST_PRICE,
        priority=2,
    )
    DiscountRuleFactory(
        code="fix",
        action=RuleAction.PRICE_OVERRIDE,
        value=D("87"),
        currency="USD",
        combination=Combination.BEST_PRICE,
        priority=3,
    )
    result = quote(line("DRILL-1"))
    assert result.lines[0].net == D("87.00")
    assert [c.rule for c in result.lines[0].components if c.kind == "discount"] == ["fix"]
    assert (
        trace_of(result, "pct")[0][1] == "skipped" and "not the best price" in trace_of(result, "pct")[0][2]
    )


def test_best_price_list_selection_picks_the_lowest_list_price_across_currencies(world):
    ExchangeRateFactory(base="EUR", quote="USD", rate=D("1.10"), valid_on=date(2026, 1, 1))
    eur = _list_with("eur", world.drill, "85.00", currency="EUR")  # 93.50 USD
    usd = _list_with("usd-promo", world.drill, "95.00")
    strategy = PricingStrategyFactory(code="best", list_selection=ListSelection.LOWEST, lists=[usd, eur])
    StrategyAssignmentFactory(strategy=strategy, level=AssignmentLevel.CUSTOMER, customer=world.customer)
    result = quote(line("DRILL-1"), customer_account="C-1")
    assert (result.lines[0].price_list, result.lines[0].list_amount) == ("eur", D("93.50"))
    assert result.lines[0].fx.rate == D("1.10") and result.lines[0].fx.valid_on == date(2026, 1, 1)


def test_rules_lists_and_assignments_outside_their_dates_are_ignored(world):
    DiscountRuleFactory(
        code="january", value=D("10"), valid_from=date(2026, 1, 1), valid_to=date(2026, 1, 31)
    )
    DiscountRuleFactory(code="from-april", value=D("20"), valid_from=date(2026, 4, 1))
    promo = _list_with("promo", world.drill, "60.00")
    promo.valid_from, promo.valid_to = date(2026, 6, 1), date(2026, 6, 30)
    promo.save()
    strategy = PricingStrategyFactory(code="summer", lists=[promo])
    StrategyAssignmentFactory(
        strategy=strategy,
        level=AssignmentLevel.CUSTOMER,
        customer=world.customer,
        valid_from=date(2026, 5, 1),
    )

    march = quote(line("DRILL-1"), customer_account="C-1")
    assert march.lines[0].net == D("100.00")
    assert ("order", "skipped", "not in effect on 2026-03-15") in trace_of(march, "january")
    assert quote(line("DRILL-1"), on=date(2026, 1, 31)).lines[0].net == D("90.00")
    may = quote(line("DRILL-1"), customer_account="C-1", on=date(2026, 5, 15))
    assert (may.lines[0].price_list, may.lines[0].net) == ("usd-default", D("80.00"))  # promo list not yet
    june = quote(line("DRILL-1"), customer_account="C-1", on=date(2026, 6, 1))
    assert (june.lines[0].price_list, june.lines[0].net) == ("promo", D("48.00"))


def test_product_category_and_brand_conditions(world):
    DiscountRuleFactory(code="tools-5", value=D("5"), conditions={"categories": [world.tools]})
    DiscountRuleFactory(
        code="acme-10", value=D("10"), apply_on=ApplyOn.LIST, conditions={"brands": [world.acme]}
    )
    DiscountRuleFactory(
        code="saw-only", value=D("50"), conditions={"products": [world.saw]}, min_quantity=D("3")
    )
    result = quote(line("DRILL-1"), line("SAW-1", 2))
    drill, saw = result.lines
    assert drill.net == D("85.00")  # subcategory of tools: 5% of 100, then 10% of list
    assert saw.net == D("95.00")  # 5% only: not acme, below the saw rule's quantity
    assert ("line 2", "skipped", "line quantity 2 is below 3.0000") in trace_of(result, "saw-only")


def test_coupon_gated_rule_applies_only_with_a_valid_code(world):
    rule = DiscountRuleFactory(code="spring", value=D("15"))
    CouponFactory(code="SPRING15", rule=rule, max_uses=5)
    CouponFactory(code="OLD", rule=rule, valid_to=date(2025, 12, 31))
    assert quote(line("DRILL-1")).lines[0].net == D("100.00")
    result = quote(line("DRILL-1"), coupon_codes=("spring15", "OLD", "NOPE"))
    assert result.lines[0].net == D("85.00")
    checks = {c.code: (c.valid, c.applied, c.reason) for c in result.coupons}
    assert checks["SPRING15"] == (True, True, "valid")
    assert checks["OLD"][0] is False and "not valid on" in checks["OLD"][2]
    assert checks["NOPE"] == (False, False, "unknown coupon code")
    discount = next(c for c in result.lines[0].components if c.kind == "discount")
    assert discount.detail["coupon"] == "SPRING15"


def test_order_level_discount_is_spread_by_largest_remainder(world):
    DiscountRuleFactory(
        code="ten-off",
        level=RuleLevel.ORDER,
        action=RuleAction.AMOUNT_OFF,
        value=D("10"),
        currency="USD",
        min_order_amount=D("100"),
    )
    result = quote(line("SAW-1"), line("SAW-1"), line("SAW-1"))
    shares = [ln.order_discount for ln in result.lines]
    assert shares == [D("3.34"), D("3.33"), D("3.33")] and sum(shares) == D("10.00")
    assert result.totals.order_discount == D("10.00") and result.totals.net == D("140.00")
    below = quote(line("SAW-1"))
    assert below.totals.order_discount == 0
    assert trace_of(below, "ten-off")[0][2] == "order amount 50.00 is below 100.00"


def test_buy_x_get_y_and_markup(world):
    DiscountRuleFactory(
        code="b2g1",
        action=RuleAction.BUY_X_GET_Y,
        buy_quantity=2,
        get_quantity=1,
        value=D("100"),
        conditions={"products": [world.drill]},
    )
    DiscountRuleFactory(
        code="handling", action=RuleAction.MARKUP, value=D("2"), conditions={"products": [world.saw]}
    )
    drill, saw = quote(line("DRILL-1", 7), line("SAW-1", 3)).lines
    assert drill.net == D("500.00")  # 7 units, 2 of them free
    assert saw.net == D("153.00") and saw.line_discount == D("-3.00")
    assert [c.kind for c in saw.components][:2] == ["list_price", "markup"]


def test_rules_of_an_unassigned_strategy_do_not_apply(world):
    rule = DiscountRuleFactory(code="vip-only", value=D("30"))
    vip = PricingStrategyFactory(code="vip", lists=[], with_rules=[rule])
    assert quote(line("DRILL-1"), customer_account="C-1").lines[0].net == D("100.00")
    StrategyAssignmentFactory(strategy=vip, level=AssignmentLevel.CUSTOMER, customer=world.customer)
    assert quote(line("DRILL-1"), customer_account="C-1").lines[0].net == D("70.00")

"""The snapshot loads in a fixed number of queries per order, and the rule cache follows the version."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pricing import snapshot as loader
from pricing.models import PricingRulesetVersion
from tests.factories.catalog import ProductFactory
from tests.factories.pricing import CouponFactory, DiscountRuleFactory, PriceListItemFactory, PriceTierFactory

from .conftest import line, quote

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def hundred_products(world):
    skus = []
    for n in range(100):
        product = ProductFactory(sku=f"BULK-{n:03d}", category=world.tools, tax_class=world.standard)
        item = PriceListItemFactory(price_list=world.default_list, product=product, uom=product.uom,
                                    unit_price=D("10.00"), tier_mode="graduated")  # fmt: skip
        PriceTierFactory(item=item, lower=D(0), upper=D(5), unit_price=D("10.00"))
        PriceTierFactory(item=item, lower=D(5), upper=None, unit_price=D("9.00"))
        skus.append(product.sku)
    for n in range(20):
        DiscountRuleFactory(code=f"r{n}", value=D("1"), conditions={"categories": [world.tools]})
    rule = DiscountRuleFactory(code="coupon-rule", value=D("5"))
    CouponFactory(code="BULK5", rule=rule)
    return skus


def test_query_count_is_the_same_for_1_10_and_100_lines(hundred_products, django_assert_num_queries):
    quote(line(hundred_products[0]), customer_account="C-1")  # warm the rule cache
    counts = {}
    for n in (1, 10, 100):
        lines = [line(sku, 7) for sku in hundred_products[:n]]
        with django_assert_num_queries(11) as ctx:  # version, channel, customer, memberships, products,
            # categories, conversions, tiers, items, coupons, the customer's coupon uses
            result = quote(*lines, customer_account="C-1", channel_code="web", coupon_codes=("BULK5",))
        counts[n] = len(ctx.captured_queries)
        assert len(result.lines) == n and result.lines[0].list_amount == D("68.00")  # 5 x 10 + 2 x 9
    assert counts[1] == counts[10] == counts[100]


def test_the_rule_cache_reloads_only_when_the_version_changes(world, django_assert_num_queries):
    quote(line("DRILL-1"))
    with django_assert_num_queries(6):  # version, products, categories, conversions, tiers, items
        assert quote(line("DRILL-1")).lines[0].net == D("100.00")
    rule = DiscountRuleFactory(code="new", value=D("10"))
    version = PricingRulesetVersion.objects.get(pk=1).version
    result = quote(line("DRILL-1"))
    assert result.lines[0].net == D("90.00") and result.ruleset_version == version
    rule.value = D("20")
    rule.save()
    assert quote(line("DRILL-1")).lines[0].net == D("80.00")
    rule.delete()
    assert quote(line("DRILL-1")).lines[0].net == D("100.00")


def test_a_reused_version_number_never_serves_a_stale_cache(world):
    """A rolled-back change can leave the same number with other rules: the token tells them apart."""
    quote(line("DRILL-1"))
    version, token = loader.ruleset_version_read()
    DiscountRuleFactory(code="temp", value=D("50"))
    PricingRulesetVersion.objects.filter(pk=1).update(version=version)  # as if the counter came back
    assert loader.ruleset_version_read()[0] == version and loader.ruleset_version_read()[1] != token
    assert quote(line("DRILL-1")).lines[0].net == D("50.00")


def test_m2m_changes_bump_the_version(world):
    rule = DiscountRuleFactory(code="drills", value=D("10"))
    before = loader.ruleset_version_read()
    rule.categories.add(world.drills)
    assert loader.ruleset_version_read() != before
    assert quote(line("DRILL-1"), line("SAW-1")).lines[1].net == D("50.00")

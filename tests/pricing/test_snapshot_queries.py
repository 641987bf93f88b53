"""The snapshot loads in a fixed number of queries per order, and the rule cache follows the version."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from catalog.models import UnitOfMeasure, UomConversion
from oms.kernel import refcache
from oms.kernel.exceptions import ValidationFailed
from pricing import snapshot as loader
from pricing.engine import PriceRequest
from pricing.models import PricingRulesetVersion, SegmentMembership
from pricing.services import price_quote
from tests.factories.catalog import ProductFactory
from tests.factories.pricing import (
    CouponFactory,
    DiscountRuleFactory,
    PriceListItemFactory,
    PriceTierFactory,
    PricingSegmentFactory,
)

from .conftest import TODAY, line, quote

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
    cold, warm = {}, {}
    for n in (1, 10, 100):
        lines = [line(sku, 7) for sku in hundred_products[:n]]
        loader.ruleset_current().loader_cache.clear()  # as after a catalog change: products unknown
        with django_assert_num_queries(12) as ctx:  # version, channel, customer + sites, memberships,
            # categories, global conversions, products, their conversions, tiers, items, coupons + uses
            result = quote(*lines, customer_account="C-1", channel_code="web", coupon_codes=("BULK5",))
        cold[n] = len(ctx.captured_queries)
        assert len(result.lines) == n and result.lines[0].list_amount == D("68.00")  # 5 x 10 + 2 x 9
        with django_assert_num_queries(4) as ctx:  # version, customer + sites, coupons, coupon uses
            again = quote(*lines, customer_account="C-1", channel_code="web", coupon_codes=("BULK5",))
        warm[n] = len(ctx.captured_queries)
        assert again == result
    assert cold[1] == cold[10] == cold[100] and warm[1] == warm[10] == warm[100]


def test_the_rule_cache_reloads_only_when_the_version_changes(world, django_assert_num_queries):
    quote(line("DRILL-1"))
    with django_assert_num_queries(1):  # the version; the product is cached with the rule set
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


def test_catalog_and_channel_changes_are_seen_on_the_next_call(world):
    """Products, categories, conversions and channels are cached with the rule set: each change
    bumps the version, so the next call prices with it."""
    DiscountRuleFactory(code="drills-10", value=D("10"), conditions={"categories": [world.drills]})
    assert quote(line("SAW-1")).lines[0].net == D("50.00")
    world.saw.category = world.drills  # moved into the discounted category
    world.saw.save()
    assert quote(line("SAW-1")).lines[0].net == D("45.00")
    world.saw.active = False
    world.saw.save()
    with pytest.raises(ValidationFailed):
        quote(line("SAW-1"))
    box = UnitOfMeasure.objects.create(code="BOX6", name="Box of 6")
    with pytest.raises(ValidationFailed):
        quote(line("DRILL-1", 1, uom="BOX6"))
    UomConversion.objects.create(product=world.drill, from_uom=box, to_uom=world.drill.uom, factor=D(6))
    assert quote(line("DRILL-1", 1, uom="BOX6")).lines[0].net == D("540.00")  # 6 x 100, less 10%
    trusted = line("DRILL-1", 1, source_unit_price=D("70.00"))
    assert quote(trusted, channel_code="web").lines[0].source_price is False
    world.web.trusted_prices = True
    world.web.save()
    assert quote(trusted, channel_code="web").lines[0].net == D("70.00")


def test_a_new_segment_membership_is_seen_on_the_next_call(world):
    segment = PricingSegmentFactory(code="vip")
    DiscountRuleFactory(code="vip-5", value=D("5"), conditions={"segments": [segment]})
    assert quote(line("SAW-1"), customer_account="C-1").lines[0].net == D("50.00")
    SegmentMembership.objects.create(segment=segment, customer=world.customer)
    assert quote(line("SAW-1"), customer_account="C-1").lines[0].net == D("47.50")


def test_memoised_contexts_price_exactly_as_a_full_walk(hundred_products, world):
    """Without explain the order-wide rule ranks are memoised per context; with it they are walked
    every time. Both give the same prices, for repeated and differing contexts."""
    segment = PricingSegmentFactory(code="vip")
    DiscountRuleFactory(code="vip-3", value=D("3"), conditions={"segments": [segment]})
    SegmentMembership.objects.create(segment=segment, customer=world.customer)
    orders = [
        {"customer_account": "C-1", "channel_code": "web"},
        {"customer_account": None, "channel_code": "web"},
        {"customer_account": "C-1", "channel_code": "web", "coupon_codes": ("BULK5",)},
        {"customer_account": "C-1", "channel_code": None},
    ]
    lines = [line(sku, n % 9 + 1) for n, sku in enumerate(hundred_products[:30])]
    for _ in range(2):
        for kwargs in orders:
            fast = quote(*lines, explain=False, **kwargs)
            walked = quote(*lines, explain=True, **kwargs)
            assert fast.lines == walked.lines and fast.totals == walked.totals and fast.rates == walked.rates


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


def test_in_a_request_scope_the_version_comes_with_the_reference_data_read(world, django_assert_num_queries):
    """A request or task reads every reference-data version in one statement; pricing's rule set
    version is one of them, and a change made in the same scope is seen by its next call."""
    quote(line("DRILL-1"))  # warm the caches
    refcache.versions_read()  # a fresh database gets its reference-data version rows on first use
    with refcache.scope():
        with django_assert_num_queries(1):  # the versions of all reference data, pricing's included
            assert quote(line("DRILL-1")).lines[0].net == D("100.00")
        with django_assert_num_queries(0):  # the rest of the scope: nothing read again
            assert quote(line("DRILL-1")).lines[0].net == D("100.00")
        DiscountRuleFactory(code="in-scope", value=D("10"))
        assert quote(line("DRILL-1")).lines[0].net == D("90.00")


def test_a_customer_already_read_by_the_caller_is_not_read_again(world, django_assert_num_queries):
    from customers.models import CustomerSite

    request = PriceRequest(
        currency="USD", lines=(line("DRILL-1", 2),), customer_account="C-1", pricing_date=TODAY
    )
    read_by_pricing = price_quote(request)
    sites = list(CustomerSite.objects.filter(customer=world.customer, active=True))
    with django_assert_num_queries(1):  # the version only
        given = price_quote(request, customer=(world.customer, sites))
    assert given == read_by_pricing and given.customer == "C-1"

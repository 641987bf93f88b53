"""Pricing configuration: lists, items, tiers, segments, strategies, rules, coupons, tax, shipping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from pricing.models import (
    AdjustmentReason,
    AssignmentLevel,
    Coupon,
    DiscountRule,
    ExchangeRate,
    PriceList,
    PriceListItem,
    PriceListStatus,
    PriceTier,
    PricingSegment,
    PricingStrategy,
    RuleAction,
    ShippingRule,
    StrategyAssignment,
    StrategyPriceList,
    TaxRule,
)
from tests.factories.catalog import ProductFactory, TaxClassFactory, UnitOfMeasureFactory


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"list-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    currency = "USD"
    status = PriceListStatus.ACTIVE


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    uom = factory.SubFactory(UnitOfMeasureFactory)
    unit_price = Decimal("10.00")


class PriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTier

    item = factory.SubFactory(PriceListItemFactory)
    lower = Decimal("0")
    upper = None
    unit_price = Decimal("10.00")


class PricingSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PricingSegment
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"segment-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class PricingStrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PricingStrategy
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"strategy-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())

    @factory.post_generation
    def lists(self, create, extracted, **kwargs):
        for position, plist in enumerate(extracted or (), start=1):
            StrategyPriceList.objects.create(strategy=self, price_list=plist, position=position)

    @factory.post_generation
    def with_rules(self, create, extracted, **kwargs):
        if extracted:
            self.rules.add(*extracted)


class StrategyAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StrategyAssignment

    strategy = factory.SubFactory(PricingStrategyFactory)
    level = AssignmentLevel.DEFAULT


class DiscountRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiscountRule
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"rule-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    action = RuleAction.PERCENT_OFF
    value = Decimal("10")

    @factory.post_generation
    def conditions(self, create, extracted, **kwargs):
        """conditions={"products": [...], "segments": [...], ...}"""
        for name, values in (extracted or {}).items():
            getattr(self, name).add(*values)


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n}")
    rule = factory.SubFactory(DiscountRuleFactory)


class TaxRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRule

    name = factory.LazyAttribute(lambda o: f"{o.country} {o.region} tax".replace("  ", " "))
    country = "US"
    region = ""
    tax_class = factory.SubFactory(TaxClassFactory)
    rate = Decimal("10")


class ShippingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingRule

    name = factory.Sequence(lambda n: f"Shipping {n}")
    ship_method = "ground"
    currency = "USD"
    flat_amount = Decimal("5.00")


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate
        django_get_or_create = ["base", "quote", "valid_on"]

    base = "EUR"
    quote = "USD"
    rate = Decimal("1.10")
    valid_on = date(2026, 1, 1)


class AdjustmentReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdjustmentReason
        django_get_or_create = ["code"]

    code = "price-match"
    name = "Price match"

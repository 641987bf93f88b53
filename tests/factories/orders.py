"""Orders reference data: hold codes, compliance lists, approval rules, channel policies."""

from __future__ import annotations

from decimal import Decimal

import factory

from orders.models import (
    ApprovalRule,
    ApprovalRuleKind,
    ChannelOrderPolicy,
    EmbargoedCountry,
    HoldCode,
    RestrictedParty,
)


class HoldCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HoldCode
        django_get_or_create = ["code"]

    code = "manual"
    name = "Manual review"
    apply_roles = factory.LazyFunction(lambda: ["order_desk", "channel"])
    release_roles = factory.LazyFunction(lambda: ["order_desk", "channel"])


class RestrictedPartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RestrictedParty

    name = "Blocked Trading Co"
    source = "test list"


class EmbargoedCountryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmbargoedCountry
        django_get_or_create = ["country"]

    country = "KP"


class ApprovalRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalRule

    name = "Large order"
    kind = ApprovalRuleKind.TOTAL_OVER
    threshold = Decimal("5000")
    threshold_currency = "USD"


class ChannelOrderPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelOrderPolicy
        django_get_or_create = ["channel"]

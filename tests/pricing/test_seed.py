"""The demo data prices orders out of the box: every seeded customer, in its currency, with tax."""

from __future__ import annotations

from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer, CustomerKind
from pricing.engine import LineRequest, PriceRequest
from pricing.models import DiscountRule, PriceListItem, PriceTier, TaxRule
from pricing.services import price_quote

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_seeded_pricing_prices_every_customer_in_its_currency():
    call_command("seed_demo", stdout=StringIO())
    assert PriceListItem.objects.count() >= 300 + 3 * 60 and PriceTier.objects.exists()
    assert DiscountRule.objects.count() >= 8 and TaxRule.objects.filter(country="DE").exists()
    skus = list(
        PriceListItem.objects.filter(price_list__code="eur-list").values_list("product__sku", flat=True)
    )
    for customer in Customer.objects.filter(kind=CustomerKind.B2B).order_by("pk")[:16]:
        request = PriceRequest(
            currency=customer.credit_currency
            if customer.credit_currency in ("USD", "EUR", "GBP", "JPY")
            else "USD",
            lines=tuple(LineRequest(sku, D(n + 1)) for n, sku in enumerate(skus[:12])),
            customer_account=customer.account_number,
            channel_code="web",
            coupon_codes=("SPRING15",),
        )
        result = price_quote(request)
        assert result.totals.total == sum(ln.total for ln in result.lines)
        assert all(ln.fx is None for ln in result.lines), "a list in the order currency is preferred"
        assert result.coupons[0].valid

"""Admin screens: render, validate (overlapping tiers, inverted dates), import and export CSV."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import tablib
from django.urls import reverse

from pricing.models import ExchangeRate, PriceListItem, PriceTier
from pricing.resources import ExchangeRateResource, PriceListItemResource
from tests.factories.pricing import (
    CouponFactory,
    DiscountRuleFactory,
    ExchangeRateFactory,
    PricingSegmentFactory,
    ShippingRuleFactory,
    TaxRuleFactory,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MODELS = [
    "pricelist",
    "pricelistitem",
    "pricingsegment",
    "pricingstrategy",
    "strategyassignment",
    "discountrule",
    "coupon",
    "taxrule",
    "shippingrule",
    "exchangerate",
    "pricingpolicy",
    "adjustmentreason",
    "pricequote",
    "pricingrulesetversion",
]


def test_every_pricing_screen_renders(world, admin_client):
    rule = DiscountRuleFactory(code="r1")
    CouponFactory(rule=rule)
    PricingSegmentFactory(code="seg")
    TaxRuleFactory(tax_class=world.standard)
    ShippingRuleFactory()
    ExchangeRateFactory()
    for name in MODELS:
        assert admin_client.get(reverse(f"admin:pricing_{name}_changelist")).status_code == 200, name
    for name in ("pricelistitem", "exchangerate"):
        assert admin_client.get(reverse(f"admin:pricing_{name}_import")).status_code == 200, name
        assert admin_client.get(reverse(f"admin:pricing_{name}_export")).status_code == 200, name
    item = PriceListItem.objects.first()
    for name, pk in (
        ("pricelistitem", item.pk),
        ("discountrule", rule.pk),
        ("pricingstrategy", world.default.pk),
        ("pricelist", world.default_list.pk),
    ):
        assert admin_client.get(reverse(f"admin:pricing_{name}_change", args=[pk])).status_code == 200, name


def _item_form(item, tiers):
    data = {
        "price_list": item.price_list_id,
        "product": item.product_id,
        "uom": item.uom_id,
        "unit_price": "10",
        "tier_basis": "quantity",
        "tier_mode": "graduated",
        "block_size": "",
        "block_rounding": "up",
        "charge_type": "one_time",
        "recurring_period": "",
        "recurring_periods": "",
        "tiers-TOTAL_FORMS": str(len(tiers)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    for i, (lower, upper, price) in enumerate(tiers):
        data.update({f"tiers-{i}-lower": lower, f"tiers-{i}-upper": upper, f"tiers-{i}-unit_price": price})
    return data


def test_overlapping_or_gapped_tiers_are_refused_and_good_ones_saved(world, admin_client):
    item = PriceListItem.objects.get(product=world.drill)
    url = reverse("admin:pricing_pricelistitem_change", args=[item.pk])
    overlapping = admin_client.post(url, _item_form(item, [("0", "10", "5"), ("8", "", "4")]))
    assert overlapping.status_code == 200 and "Tiers overlap" in overlapping.content.decode()
    gap = admin_client.post(url, _item_form(item, [("0", "10", "5"), ("12", "", "4")]))
    assert "Gap between tiers" in gap.content.decode()
    assert not PriceTier.objects.exists()
    ok = admin_client.post(url, _item_form(item, [("0", "10", "5"), ("10", "", "4")]))
    assert ok.status_code == 302
    assert list(PriceTier.objects.order_by("lower").values_list("lower", "upper")) == [(0, 10), (10, None)]


def test_inverted_dates_are_refused(world, admin_client):
    url = reverse("admin:pricing_pricelist_change", args=[world.default_list.pk])
    response = admin_client.post(
        url,
        {
            "code": "usd-default",
            "name": "Default",
            "currency": "USD",
            "status": "active",
            "description": "",
            "valid_from": "2026-05-01",
            "valid_to": "2026-04-01",
        },
    )
    assert (
        response.status_code == 200 and "The end date is before the start date." in response.content.decode()
    )
    response = admin_client.post(
        url,
        {
            "code": "usd-default",
            "name": "Default",
            "currency": "XXX",
            "status": "active",
            "description": "",
        },
    )
    assert response.status_code == 200 and "Unknown currency" in response.content.decode()


def test_price_list_items_import_from_csv_with_per_row_errors(world):
    headers = ["price_list", "product", "uom", "unit_price", "tier_mode"]
    data = tablib.Dataset(
        ["usd-default", "drill-1", "ea", "99.50", "all_units"],  # an update of an existing item
        ["usd-default", "NOPE", "EA", "1", ""],
        ["nolist", "SAW-1", "EA", "1", ""],
        ["usd-default", "SAW-1", "EA", "cheap", ""],
        headers=headers,
    )
    result = PriceListItemResource().import_data(data, dry_run=False, raise_errors=False)
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(errors) == {2, 3, 4} and not result.has_errors()
    assert (
        "product" in errors[2] and "price_list" in errors[3] and "not a number" in errors[4]["unit_price"][0]
    )
    assert PriceListItem.objects.get(product=world.drill).unit_price == D("99.50")
    exported = PriceListItemResource().export().csv
    assert "usd-default,DRILL-1,EA,99.50" in exported


def test_exchange_rates_import_from_csv(world):
    data = tablib.Dataset(
        ["eur", "usd", "1.0850", "2026-03-01"],
        ["GBP", "USD", "1.27", "2026-03-01"],
        ["EUR", "EUR", "1", "2026-03-01"],
        headers=["base", "quote", "rate", "valid_on"],
    )
    result = ExchangeRateResource().import_data(data, dry_run=False, raise_errors=False)
    assert [row.number for row in result.invalid_rows] == [3]
    assert ExchangeRate.objects.get(base="EUR", quote="USD", valid_on=date(2026, 3, 1)).rate == D("1.085")

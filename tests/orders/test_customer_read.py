"""Capture reads a B2B customer with its exposure and active sites in one statement; the
instances are exactly what the ORM would build."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from customers.models import CreditExposure, Customer, CustomerSite
from customers.services import credit_exposure_adjust
from orders.services.capture.stages.customer import b2b_customer as _b2b_customer
from tests.factories.customers import CustomerFactory, CustomerSiteFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_customer_exposure_and_sites_match_the_orms(django_assert_num_queries):
    customer = CustomerFactory(account_number="C-77", credit_limit=Decimal("1234.56"))
    CustomerSiteFactory(customer=customer, purpose="ship_to", country="US", region="PA", is_primary=False)
    primary = CustomerSiteFactory(customer=customer, purpose="both", country="NL", is_primary=True)
    CustomerSiteFactory(customer=customer, purpose="ship_to", country="DE", active=False)
    credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("10.25"))

    with django_assert_num_queries(1):
        found = _b2b_customer("C-77")
        exposure = found.credit_exposure
        sites = found._active_sites
    orm = Customer.objects.get(pk=customer.pk)
    assert model_to_dict(found) == model_to_dict(orm) and found.created_at == orm.created_at
    assert model_to_dict(exposure) == model_to_dict(CreditExposure.objects.get(customer=customer))
    assert exposure.open_orders_amount == Decimal("10.25") and exposure.customer is found
    expected = list(CustomerSite.objects.filter(customer=customer, active=True).order_by("-is_primary", "pk"))
    assert [s.pk for s in sites] == [s.pk for s in expected] and sites[0].pk == primary.pk
    assert [model_to_dict(s) for s in sites] == [model_to_dict(s) for s in expected]


def test_an_unknown_account_is_none_and_a_customer_without_sites_has_none():
    assert _b2b_customer("NOPE") is None
    CustomerFactory(account_number="C-78")
    assert _b2b_customer("C-78")._active_sites == []


def test_the_lines_products_match_the_orms_with_their_unit(django_assert_num_queries):
    from catalog.models import Product
    from orders.services.capture.stages.lines import products_by_sku as _products_by_sku
    from tests.factories.catalog import ProductFactory

    made = [ProductFactory(sku=f"READ-{n}", weight_kg=Decimal("1.25")) for n in range(3)]
    with django_assert_num_queries(1):
        found = _products_by_sku(["READ-0", "READ-2", "NOPE"])
        units = {sku: p.uom.code for sku, p in found.items()}
    assert set(found) == {"READ-0", "READ-2"}
    for product in (made[0], made[2]):
        orm = Product.objects.select_related("uom").get(pk=product.pk)
        assert model_to_dict(found[product.sku]) == model_to_dict(orm)
        assert units[product.sku] == orm.uom.code and found[product.sku].created_at == orm.created_at

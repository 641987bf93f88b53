"""The admin's CSV import pages with a real upload, as staff use them: upload a file, read the
per-row report, confirm, and find the rows in the database (products, customers, price list items,
exchange rates). A file with a bad row is refused whole, its errors shown per row."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Product
from customers.models import Customer
from pricing.models import ExchangeRate, PriceListItem
from tests.factories.catalog import BrandFactory, CategoryFactory, TaxClassFactory, UnitOfMeasureFactory
from tests.orders.conftest import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _upload(admin_client, model: str, csv: str):
    """Step 1: the import page with the file; answers the report page (and its confirm form)."""
    url = reverse(f"admin:{model}_import")
    page = admin_client.get(url)
    assert page.status_code == 200
    formats = {label.lower(): value for value, label in page.context["form"].fields["format"].choices}
    response = admin_client.post(
        url,
        {
            "format": formats["csv"],
            "import_file": SimpleUploadedFile("upload.csv", csv.encode(), content_type="text/csv"),
            "resource": "0",
        },
    )
    assert response.status_code == 200
    return response


def _confirm(admin_client, model: str, response):
    confirm = response.context.get("confirm_form")
    assert confirm is not None, re.sub(r"\s+", " ", response.content.decode())[:2000]
    done = admin_client.post(reverse(f"admin:{model}_process_import"), confirm.initial, follow=True)
    assert done.status_code == 200
    return done


def test_products_upload_preview_then_confirm_creates_them(admin_client):
    BrandFactory(code="acme")
    CategoryFactory(code="tools")
    UnitOfMeasureFactory(code="EA")
    TaxClassFactory(code="standard")
    csv = (
        "sku,name,brand,category,uom,product_type,tax_class,weight_kg,lot_controlled,active\n"
        "ac-100,Hammer,acme,tools,ea,goods,standard,0.8,0,1\n"
        "AC-101,Wrench,acme,tools,EA,goods,standard,0.5,0,1\n"
    )
    preview = _upload(admin_client, "catalog_product", csv)
    assert not Product.objects.exists()  # the preview writes nothing
    assert b"AC-100" in preview.content
    _confirm(admin_client, "catalog_product", preview)
    assert set(Product.objects.values_list("sku", flat=True)) == {"AC-100", "AC-101"}
    assert Product.objects.get(sku="AC-100").weight_kg == Decimal("0.8")


def test_a_products_upload_with_a_bad_row_shows_the_row_error_and_imports_nothing(admin_client):
    BrandFactory(code="acme")
    CategoryFactory(code="tools")
    UnitOfMeasureFactory(code="EA")
    TaxClassFactory(code="standard")
    csv = (
        "sku,name,brand,category,uom,product_type,tax_class,weight_kg,lot_controlled,active\n"
        "AC-100,Hammer,acme,tools,EA,goods,standard,0.8,0,1\n"
        "AC-101,Mystery,nobrand,tools,EA,goods,standard,1,0,1\n"
    )
    report = _upload(admin_client, "catalog_product", csv)
    assert report.context.get("confirm_form") is None  # nothing to confirm
    assert report.context["result"].has_validation_errors()
    assert b"nobrand" in report.content
    assert not Product.objects.exists()


def test_customers_upload_creates_the_accounts(admin_client):
    csv = (
        "account_number,kind,name,email,status,demand_class,credit_limit,credit_currency,payment_terms,"
        "tax_exempt,sales_rep\n"
        "c-300,b2b,Harbor Tools Ltd,ap@harbor.example,active,priority,25000,gbp,NET30,0,\n"
    )
    _confirm(admin_client, "customers_customer", _upload(admin_client, "customers_customer", csv))
    customer = Customer.objects.get(account_number="C-300")
    assert (customer.name, customer.credit_limit, customer.credit_currency) == (
        "Harbor Tools Ltd",
        Decimal("25000"),
        "GBP",
    )


def test_price_list_items_upload_changes_the_price_pricing_uses(admin_client):
    world = build_world()
    csv = "price_list,product,uom,unit_price,tier_mode\nusd-default,DRILL-1,EA,99.50,all_units\n"
    _confirm(admin_client, "pricing_pricelistitem", _upload(admin_client, "pricing_pricelistitem", csv))
    assert PriceListItem.objects.get(product=world.drill).unit_price == Decimal("99.50")


def test_exchange_rates_upload_adds_the_dated_rates(admin_client):
    csv = "base,quote,rate,valid_on\neur,usd,1.0850,2026-03-01\nGBP,USD,1.27,2026-03-01\n"
    _confirm(admin_client, "pricing_exchangerate", _upload(admin_client, "pricing_exchangerate", csv))
    assert ExchangeRate.objects.get(base="EUR", quote="USD", valid_on=date(2026, 3, 1)).rate == Decimal(
        "1.085"
    )
    assert ExchangeRate.objects.filter(base="GBP").count() == 1

from __future__ import annotations

from decimal import Decimal

import pytest
import tablib

from catalog.models import Product
from catalog.resources import ProductResource
from tests.factories.catalog import (
    BrandFactory,
    CategoryFactory,
    ProductFactory,
    TaxClassFactory,
    UnitOfMeasureFactory,
)

pytestmark = pytest.mark.integration

HEADERS = ["sku", "name", "brand", "category", "uom", "product_type", "tax_class", "weight_kg",
           "lot_controlled", "active"]  # fmt: skip


@pytest.fixture
def reference_data():
    BrandFactory(code="acme", name="Acme")
    CategoryFactory(code="tools", name="Tools")
    UnitOfMeasureFactory(code="EA")
    TaxClassFactory(code="standard")


def _dataset(*rows):
    return tablib.Dataset(*rows, headers=HEADERS)


def _row_errors(result) -> dict[int, dict[str, list[str]]]:
    return {row.number: row.error_dict for row in result.invalid_rows}


@pytest.mark.django_db
def test_bad_rows_are_reported_per_row_and_good_rows_import(reference_data):
    data = _dataset(
        ["ac-100", "Hammer", "acme", "tools", "ea", "goods", "standard", "0.8", "0", "1"],
        ["AC-101", "Mystery", "nobrand", "tools", "EA", "goods", "standard", "1", "0", "1"],
        ["AC-102", "Anvil", "acme", "tools", "EA", "goods", "standard", "-3", "0", "1"],
        ["AC-103", "Feather", "acme", "tools", "EA", "goods", "standard", "light", "0", "1"],
        ["AC-104", "Wrench", "acme", "tools", "EA", "gadget", "standard", "0.5", "0", "1"],
        ["AC-105", "Setup", "acme", "tools", "EA", "service", "standard", "0", "0", "1"],
    )
    resource = ProductResource()

    dry = resource.import_data(data, dry_run=True, raise_errors=False)
    assert dry.has_validation_errors()
    assert not dry.has_errors()  # no crash rows: every problem is a row's validation error
    errors = _row_errors(dry)
    assert set(errors) == {2, 3, 4, 5}
    assert "brand" in errors[2] and "nobrand" in errors[2]["brand"][0]
    assert "weight_kg" in errors[3]
    assert "weight_kg" in errors[4] and "not a number" in errors[4]["weight_kg"][0]
    assert "product_type" in errors[5]
    assert not Product.objects.exists()

    # For real: the invalid rows are skipped (and reported again), the valid rows are saved.
    result = resource.import_data(data, dry_run=False, raise_errors=False)
    assert set(_row_errors(result)) == {2, 3, 4, 5}
    assert result.totals["new"] == 2 and result.totals["invalid"] == 4
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["AC-100", "AC-105"]
    hammer = Product.objects.get(sku="AC-100")
    assert hammer.brand.code == "acme" and hammer.uom.code == "EA" and hammer.weight_kg == Decimal("0.8")


@pytest.mark.django_db
def test_import_updates_existing_products_by_sku(reference_data):
    ProductFactory(sku="AC-100", name="Old name", brand=BrandFactory(code="acme"))
    data = _dataset(["AC-100", "New name", "acme", "tools", "EA", "goods", "standard", "2", "1", "1"])
    result = ProductResource().import_data(data, dry_run=False, raise_errors=False)
    assert result.totals["update"] == 1 and result.totals["new"] == 0
    product = Product.objects.get(sku="AC-100")
    assert product.name == "New name" and product.lot_controlled is True


@pytest.mark.django_db
def test_export_references_by_code_and_round_trips(reference_data, django_assert_max_num_queries):
    for _ in range(5):
        ProductFactory(brand=BrandFactory(code="acme"), category=CategoryFactory(code="tools"))
    with django_assert_max_num_queries(2):
        exported = ProductResource().export()
    assert exported.headers[:5] == ["sku", "name", "brand", "category", "uom"]
    assert {row[2] for row in exported} == {"acme"}
    again = ProductResource().import_data(exported, dry_run=True, raise_errors=False)
    assert not again.has_validation_errors() and not again.has_errors()

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import UomConversion
from catalog.services import uom_convert
from oms.kernel.exceptions import ValidationFailed
from tests.factories.catalog import ProductFactory, UnitOfMeasureFactory

pytestmark = pytest.mark.integration


@pytest.fixture
def units():
    return {code: UnitOfMeasureFactory(code=code) for code in ("EA", "BOX", "CS", "KG")}


@pytest.fixture
def generic_box(units):
    return UomConversion.objects.create(from_uom=units["BOX"], to_uom=units["EA"], factor=Decimal("12"))


@pytest.mark.django_db
def test_generic_conversion_applies_to_any_product(units, generic_box):
    product = ProductFactory()
    assert uom_convert(product=product, quantity=Decimal("3"), from_uom="BOX", to_uom="EA") == Decimal("36")


@pytest.mark.django_db
def test_product_specific_conversion_beats_the_generic_one(units, generic_box):
    gloves = ProductFactory()
    UomConversion.objects.create(product=gloves, from_uom=units["BOX"], to_uom=units["EA"], factor=100)
    other = ProductFactory()
    assert (
        uom_convert(product=gloves, quantity=Decimal("2"), from_uom=units["BOX"], to_uom=units["EA"]) == 200
    )
    assert uom_convert(product=other, quantity=Decimal("2"), from_uom=units["BOX"], to_uom=units["EA"]) == 24


@pytest.mark.django_db
def test_product_specific_inverse_beats_generic_forward(units, generic_box):
    # Declared as EA -> BOX for this product only; the generic BOX -> EA row must not win.
    bits = ProductFactory()
    UomConversion.objects.create(product=bits, from_uom=units["EA"], to_uom=units["BOX"], factor="0.1")
    assert uom_convert(product=bits, quantity=Decimal("3"), from_uom="BOX", to_uom="EA") == Decimal("30")


@pytest.mark.django_db
def test_a_conversion_works_backwards_by_dividing(units, generic_box):
    product = ProductFactory()
    assert uom_convert(product=product, quantity=Decimal("30"), from_uom="EA", to_uom="BOX") == Decimal("2.5")


@pytest.mark.django_db
def test_same_unit_is_identity_without_a_query(units, django_assert_num_queries):
    product = ProductFactory()
    with django_assert_num_queries(0):
        assert uom_convert(product=product, quantity=Decimal("7"), from_uom="EA", to_uom="ea") == 7


@pytest.mark.django_db
def test_missing_conversion_is_a_validation_error_and_not_chained(units, generic_box):
    UomConversion.objects.create(from_uom=units["CS"], to_uom=units["BOX"], factor=4)
    product = ProductFactory()
    with pytest.raises(ValidationFailed) as excinfo:
        uom_convert(product=product, quantity=Decimal("1"), from_uom="CS", to_uom="EA")
    assert "CS" in excinfo.value.message and "EA" in excinfo.value.fields["uom"][0]


@pytest.mark.django_db
def test_another_products_conversion_is_never_used(units):
    special = ProductFactory()
    UomConversion.objects.create(product=special, from_uom=units["BOX"], to_uom=units["EA"], factor=6)
    with pytest.raises(ValidationFailed):
        uom_convert(product=ProductFactory(), quantity=Decimal("1"), from_uom="BOX", to_uom="EA")


@pytest.mark.unit
def test_float_quantities_are_refused():
    with pytest.raises(TypeError):
        uom_convert(product=None, quantity=1.5, from_uom="EA", to_uom="EA")


@pytest.mark.django_db
@pytest.mark.parametrize("factor", [Decimal("0"), Decimal("-2")])
def test_factor_must_be_positive(units, factor):
    with pytest.raises(IntegrityError), transaction.atomic():
        UomConversion.objects.create(from_uom=units["BOX"], to_uom=units["EA"], factor=factor)


@pytest.mark.django_db
def test_one_generic_and_one_per_product_conversion_per_pair(units, generic_box):
    with pytest.raises(IntegrityError), transaction.atomic():
        UomConversion.objects.create(from_uom=units["BOX"], to_uom=units["EA"], factor=10)
    product = ProductFactory()
    UomConversion.objects.create(product=product, from_uom=units["BOX"], to_uom=units["EA"], factor=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        UomConversion.objects.create(product=product, from_uom=units["BOX"], to_uom=units["EA"], factor=8)

"""Plain catalog reference data."""

from __future__ import annotations

from decimal import Decimal

import factory

from catalog.models import Brand, Category, Product, ProductType, Supplier, TaxClass, UnitOfMeasure


class TaxClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxClass
        django_get_or_create = ["code"]

    code = "standard"
    name = factory.LazyAttribute(lambda o: o.code.title())


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"brand-{n}")
    name = factory.Sequence(lambda n: f"Brand {n}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"supplier-{n}")
    name = factory.Sequence(lambda n: f"Supplier {n}")
    country = "US"


class UnitOfMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitOfMeasure
        django_get_or_create = ["code"]

    code = "EA"
    name = factory.LazyAttribute(lambda o: {"EA": "Each", "BOX": "Box", "CS": "Case"}.get(o.code, o.code))
    decimal_places = factory.LazyAttribute(lambda o: 3 if o.code in ("KG", "L", "M") else 0)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    brand = factory.SubFactory(BrandFactory)
    category = factory.SubFactory(CategoryFactory)
    uom = factory.SubFactory(UnitOfMeasureFactory)
    tax_class = factory.SubFactory(TaxClassFactory)
    product_type = ProductType.GOODS
    weight_kg = Decimal("1.2500")

"""CSV/XLSX import and export of products (django-import-export), keyed on the SKU.

Every problem in a row (an unknown brand, a negative weight, a weight that is not a number) is
reported as that row's validation error, so one bad line never hides the good ones and the
admin shows a per-row report instead of a traceback.
"""

from __future__ import annotations

from import_export import fields, resources

from oms.kernel.importing import ReferenceWidget, StrictDecimalWidget

from .models import Brand, Category, Product, Supplier, TaxClass, UnitOfMeasure


class ProductResource(resources.ModelResource):
    brand = fields.Field("brand", "brand", ReferenceWidget(Brand, "code"))
    category = fields.Field("category", "category", ReferenceWidget(Category, "code"))
    uom = fields.Field("uom", "uom", ReferenceWidget(UnitOfMeasure, "code"))
    tax_class = fields.Field("tax_class", "tax_class", ReferenceWidget(TaxClass, "code"))
    primary_supplier = fields.Field("primary_supplier", "primary_supplier", ReferenceWidget(Supplier, "code"))
    weight_kg = fields.Field("weight_kg", "weight_kg", StrictDecimalWidget())

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = [
            "sku",
            "name",
            "brand",
            "category",
            "uom",
            "product_type",
            "tax_class",
            "primary_supplier",
            "weight_kg",
            "lot_controlled",
            "active",
        ]
        export_order = fields
        # full_clean() per row: choices, validators and DB constraints become row errors.
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
        use_transactions = True

    def before_import_row(self, row, **kwargs) -> None:
        # SKUs and unit codes are upper case everywhere else (API, scanners); normalise on the way in.
        for column in ("sku", "uom"):
            if row.get(column):
                row[column] = str(row[column]).strip().upper()

    def get_queryset(self):
        return Product.objects.select_related("brand", "category", "uom", "tax_class", "primary_supplier")

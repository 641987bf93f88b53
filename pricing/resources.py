"""CSV/XLSX import and export (django-import-export): price list items and exchange rates.

Rows are keyed on natural keys (list code + SKU + unit; base + quote + date). Every problem in a
row (an unknown list, SKU or unit, a price that is not a number) is that row's validation error.
"""

from __future__ import annotations

from import_export import fields, resources

from catalog.models import Product, UnitOfMeasure
from catalog.resources import ReferenceWidget, StrictDecimalWidget

from .models import ExchangeRate, PriceList, PriceListItem


class PriceListItemResource(resources.ModelResource):
    price_list = fields.Field("price_list", "price_list", ReferenceWidget(PriceList, "code"))
    product = fields.Field("product", "product", ReferenceWidget(Product, "sku"))
    uom = fields.Field("uom", "uom", ReferenceWidget(UnitOfMeasure, "code"))
    unit_price = fields.Field("unit_price", "unit_price", StrictDecimalWidget())
    block_size = fields.Field("block_size", "block_size", StrictDecimalWidget())

    class Meta:
        model = PriceListItem
        import_id_fields = ["price_list", "product", "uom"]
        fields = [
            "price_list",
            "product",
            "uom",
            "unit_price",
            "tier_basis",
            "tier_mode",
            "block_size",
            "block_rounding",
            "charge_type",
            "recurring_period",
            "recurring_periods",
        ]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
        use_transactions = True

    def before_import_row(self, row, **kwargs) -> None:
        for column in ("product", "uom"):
            if row.get(column):
                row[column] = str(row[column]).strip().upper()
        for column, default in (
            ("tier_basis", "quantity"),
            ("tier_mode", "all_units"),
            ("block_rounding", "up"),
            ("charge_type", "one_time"),
            ("recurring_period", ""),
        ):
            if column in row and row[column] in (None, ""):
                row[column] = default

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:  # an unknown list, SKU or unit: reported as that row's field error
            return None

    def get_queryset(self):
        return PriceListItem.objects.select_related("price_list", "product", "uom")


class ExchangeRateResource(resources.ModelResource):
    rate = fields.Field("rate", "rate", StrictDecimalWidget())

    class Meta:
        model = ExchangeRate
        import_id_fields = ["base", "quote", "valid_on"]
        fields = ["base", "quote", "rate", "valid_on"]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
        use_transactions = True

    def before_import_row(self, row, **kwargs) -> None:
        for column in ("base", "quote"):
            if row.get(column):
                row[column] = str(row[column]).strip().upper()

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from .models import Brand, Category, Product, Supplier, TaxClass, UnitOfMeasure, UomConversion
from .resources import ProductResource


@admin.register(TaxClass)
class TaxClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country", "active"]
    list_filter = ["active", "country"]
    search_fields = ["code", "name"]


@admin.register(UnitOfMeasure)
class UnitOfMeasureAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "decimal_places"]
    search_fields = ["code", "name"]


class UomConversionInline(admin.TabularInline):
    model = UomConversion
    extra = 0
    fields = ["from_uom", "to_uom", "factor"]


@admin.register(UomConversion)
class UomConversionAdmin(admin.ModelAdmin):
    list_display = ["from_uom", "to_uom", "factor", "product"]
    list_filter = ["from_uom", "to_uom", ("product", admin.EmptyFieldListFilter)]
    search_fields = ["product__sku", "product__name", "from_uom__code", "to_uom__code"]
    list_select_related = ["from_uom", "to_uom", "product"]
    autocomplete_fields = ["product"]


@admin.register(Product)
class ProductAdmin(ImportExportModelAdmin):
    resource_classes = [ProductResource]
    list_display = [
        "sku",
        "name",
        "brand",
        "category",
        "product_type",
        "uom",
        "tax_class",
        "weight_kg",
        "lot_controlled",
        "active",
    ]
    list_filter = ["active", "product_type", "lot_controlled", "tax_class", "brand", "category"]
    search_fields = ["sku", "name", "brand__name", "category__name"]
    list_select_related = ["brand", "category", "uom", "tax_class"]
    autocomplete_fields = ["brand", "category", "primary_supplier"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [UomConversionInline]
    show_full_result_count = False

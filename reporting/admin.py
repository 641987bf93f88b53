from django.contrib import admin

from .models import ProductCost, ScheduledReport


@admin.register(ScheduledReport)
class ScheduledReportAdmin(admin.ModelAdmin):
    list_display = ["name", "frequency", "weekday", "recipients", "active", "last_sent_on"]
    list_filter = ["frequency", "active"]
    search_fields = ["name", "recipients"]


@admin.register(ProductCost)
class ProductCostAdmin(admin.ModelAdmin):
    """Standard costs for the margin reports (a change shows after `manage.py reports_rebuild`)."""

    list_display = ["product_id", "currency", "unit_cost", "updated_at"]
    search_fields = ["product_id"]

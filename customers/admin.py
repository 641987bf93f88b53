from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from .models import Contact, CreditExposure, Customer, CustomerSite, Lead, LeadEvent
from .resources import CustomerResource, LeadResource


class CustomerSiteInline(admin.StackedInline):
    model = CustomerSite
    extra = 0
    fields = [
        ("name", "purpose", "is_primary", "active"),
        ("line1", "line2"),
        ("city", "region", "postcode", "country"),
    ]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "role", "email", "phone"]


class CreditExposureInline(admin.StackedInline):
    model = CreditExposure
    can_delete = False
    fields = ["currency", "open_orders_amount", "open_receivables_amount", "updated_at"]
    readonly_fields = fields  # kept current by orders and billing through credit_exposure_adjust

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ImportExportModelAdmin):
    resource_classes = [CustomerResource]
    list_display = [
        "name",
        "account_number",
        "kind",
        "status",
        "demand_class",
        "credit_limit",
        "credit_currency",
        "payment_terms",
        "sales_rep",
    ]
    list_filter = ["kind", "status", "demand_class", "payment_terms", "credit_currency", "tax_exempt"]
    search_fields = ["name", "account_number", "email", "contacts__email", "sites__city"]
    list_select_related = ["sales_rep"]
    autocomplete_fields = ["sales_rep"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [CustomerSiteInline, ContactInline, CreditExposureInline]
    show_full_result_count = False


@admin.register(CustomerSite)
class CustomerSiteAdmin(admin.ModelAdmin):
    list_display = ["customer", "purpose", "is_primary", "line1", "city", "region", "postcode", "country"]
    list_filter = ["purpose", "is_primary", "country"]
    search_fields = ["customer__name", "customer__account_number", "line1", "city", "postcode"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "role", "email", "phone"]
    list_filter = ["role"]
    search_fields = ["name", "email", "customer__name", "customer__account_number"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]


@admin.register(CreditExposure)
class CreditExposureAdmin(admin.ModelAdmin):
    list_display = ["customer", "currency", "open_orders_amount", "open_receivables_amount", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["customer__name", "customer__account_number"]
    list_select_related = ["customer"]
    readonly_fields = ["customer", "currency", "open_orders_amount", "open_receivables_amount", "updated_at"]

    def has_add_permission(self, request):
        return False


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "before", "after", "note", "actor_label"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(ImportExportModelAdmin):
    """Leads: import a list (CSV/XLSX, one new lead per row), export, and repair data. Stage
    changes and conversion happen in the staff UI (Leads), where the pipeline rules apply."""

    resource_classes = [LeadResource]
    list_display = [
        "__str__",
        "contact_name",
        "stage",
        "source",
        "owner",
        "estimated_value",
        "currency",
        "created_at",
    ]
    list_filter = ["stage", "source"]
    search_fields = ["company", "contact_name", "email"]
    readonly_fields = ["stage", "lost_reason", "customer", "stage_changed_at", "created_at", "updated_at"]
    inlines = [LeadEventInline]

"""CSV/XLSX import and export of customers (django-import-export).

Business accounts are matched on the account number, consumers (no account number) on their
e-mail, case-insensitively, the same identities the database enforces. Every problem in a row
is reported as that row's validation error.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from import_export import fields, resources, widgets

from oms.kernel.importing import ReferenceWidget, StrictDecimalWidget

from .models import Customer, CustomerKind, Lead, LeadEvent, LeadSource


class CustomerResource(resources.ModelResource):
    account_number = fields.Field("account_number", "account_number", widgets.CharWidget(allow_blank=False))
    credit_limit = fields.Field("credit_limit", "credit_limit", StrictDecimalWidget())
    sales_rep = fields.Field("sales_rep", "sales_rep", ReferenceWidget(get_user_model(), "username"))

    class Meta:
        model = Customer
        import_id_fields = ["account_number"]
        fields = [
            "account_number",
            "kind",
            "name",
            "email",
            "status",
            "demand_class",
            "credit_limit",
            "credit_currency",
            "payment_terms",
            "tax_exempt",
            "sales_rep",
        ]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
        use_transactions = True

    def before_import_row(self, row, **kwargs) -> None:
        for column in ("account_number", "credit_currency"):
            if row.get(column):
                row[column] = str(row[column]).strip().upper()
        if row.get("email"):
            row["email"] = str(row["email"]).strip()

    def get_instance(self, instance_loader, row):
        if row.get("account_number"):
            return super().get_instance(instance_loader, row)
        email = row.get("email")
        if not email:
            return None
        return Customer.objects.filter(kind=CustomerKind.CONSUMER, email__iexact=email).first()

    def get_queryset(self):
        return Customer.objects.select_related("sales_rep")


class LeadResource(resources.ModelResource):
    """Leads from a file (a trade-show list, a purchased list): every row is a new lead, source
    'import', stage 'new'; a row without an e-mail or phone is that row's error."""

    estimated_value = fields.Field("estimated_value", "estimated_value", StrictDecimalWidget())
    owner = fields.Field("owner", "owner", ReferenceWidget(get_user_model(), "username"))

    class Meta:
        model = Lead
        fields = [
            "id",
            "company",
            "contact_name",
            "email",
            "phone",
            "country",
            "city",
            "address_line1",
            "postcode",
            "interest",
            "estimated_value",
            "currency",
            "owner",
        ]
        export_order = [*fields, "source", "stage"]
        import_id_fields = ["id"]
        clean_model_instances = True
        skip_unchanged = False

    def before_save_instance(self, instance, row, **kwargs):
        if instance.pk is None:
            instance.source = LeadSource.IMPORT

    def after_save_instance(self, instance, row, **kwargs):
        if not kwargs.get("dry_run") and not instance.events.exists():
            LeadEvent.objects.create(
                lead=instance, action="created", after=instance.stage, actor_label="import"
            )

"""The rebates console: finance defines programs without code (terms, tiers, eligibility,
ship-and-debit authorizations, price drops), moves them through their lifecycle, and reads the
accruals and the journal (exported as CSV for the general ledger).

Bad terms are refused with the reason on the field and nothing saved: overlapping tiers, a tier
without a rate, reversed dates. An active program's terms are frozen: saving one is refused
(make a new version: an action)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from oms.kernel.exceptions import DomainError
from oms.kernel.web import csv_stream

from .models import (
    AccountCode,
    Accrual,
    JournalEntry,
    JournalLine,
    PriceDrop,
    ProgramTier,
    ProgramType,
    RebateEvent,
    RebateProgram,
    ShipDebitAuthorization,
)
from .selectors import journal_csv_rows
from .services.audit import event_record
from .services.programs import (
    FROZEN_MESSAGE,
    TierInput,
    authorization_problems,
    program_approve,
    program_new_version,
    program_reject,
    program_submit,
    program_terminate,
    terms_problems,
    tier_problems,
)
from .states import PROGRAM_EDITABLE, ProgramStatus


class ProgramForm(forms.ModelForm):
    class Meta:
        model = RebateProgram
        fields = [
            "code",
            "name",
            "program_type",
            "currency",
            "notes",
            "supplier",
            "customer",
            "customer_segment",
            "basis",
            "calc_method",
            "tier_mode",
            "tier_measure",
            "period",
            "start_date",
            "end_date",
            "budget_cap",
            "payout_method",
            "products",
            "brands",
            "categories",
        ]

    def clean(self):
        data = super().clean()
        if self.instance.pk and self.instance.status not in PROGRAM_EDITABLE:
            raise ValidationError(
                FROZEN_MESSAGE if self.instance.status == ProgramStatus.ACTIVE else "This program has ended."
            )
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date is before the start date (the dates are reversed).")
        return data


class TierFormSet(BaseInlineFormSet):
    """Tiers are checked together (overlaps, gaps, rates) and against the program's type."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        tiers = [
            TierInput(f.cleaned_data.get("lower"), f.cleaned_data.get("upper"), f.cleaned_data.get("rate"))
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        problems = tier_problems(tiers)
        program = self.instance
        if program.program_type in (ProgramType.SUPPLIER_REBATE, ProgramType.CUSTOMER_VOLUME):
            problems += terms_problems(program, tiers).get("tiers", [])
        elif tiers:
            problems.append("Only supplier and customer volume rebates have tiers.")
        if problems:
            raise ValidationError(sorted(set(problems), key=problems.index))


class TierForm(forms.ModelForm):
    class Meta:
        model = ProgramTier
        fields = ["lower", "upper", "rate"]
        error_messages = {"rate": {"required": "A tier needs a rate."}}


class TierInline(admin.TabularInline):
    model = ProgramTier
    form = TierForm
    formset = TierFormSet
    extra = 1


class AuthorizationForm(forms.ModelForm):
    class Meta:
        model = ShipDebitAuthorization
        fields = [
            "number",
            "valid_from",
            "valid_to",
            "customers",
            "segments",
            "products",
            "max_quantity",
            "method",
            "value",
            "base_cost",
        ]

    def clean(self):
        data = super().clean()
        scalar = ("valid_from", "valid_to", "max_quantity", "method", "value", "base_cost")
        probe = ShipDebitAuthorization(**{k: data.get(k) for k in scalar})
        for field, problems in authorization_problems(probe).items():
            for problem in problems:
                self.add_error(field, problem)
        return data


class AuthorizationInline(admin.StackedInline):
    model = ShipDebitAuthorization
    form = AuthorizationForm
    extra = 0
    filter_horizontal = ["customers", "segments", "products"]
    readonly_fields = ["consumed_quantity"]


class PriceDropInline(admin.TabularInline):
    model = PriceDrop
    extra = 0
    fields = ["product", "effective_date", "old_cost", "new_cost", "warehouses", "accrued_at"]
    readonly_fields = ["accrued_at"]
    autocomplete_fields = ["product"]


class FrozenInlines:
    """Inlines of a program that is not a draft are shown, not edited."""

    def _editable(self, obj) -> bool:
        return obj is None or obj.status in PROGRAM_EDITABLE

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if self._editable(obj):
            return inlines
        for inline in inlines:
            inline.max_num = 0
            inline.can_delete = False
        return inlines


@admin.register(RebateProgram)
class RebateProgramAdmin(FrozenInlines, admin.ModelAdmin):
    form = ProgramForm
    list_display = [
        "code",
        "version",
        "name",
        "program_type",
        "status",
        "supplier",
        "customer",
        "start_date",
        "end_date",
        "currency",
        "accrued_amount",
        "budget_cap",
    ]
    list_filter = ["program_type", "status", "basis", "tier_mode"]
    search_fields = ["code", "name", "supplier__name", "customer__name"]
    readonly_fields = [
        "status",
        "version",
        "supersedes",
        "accrued_amount",
        "created_by",
        "submitted_at",
        "approved_by",
        "approved_at",
        "ended_at",
        "end_reason",
        "row_version",
        "created_at",
        "updated_at",
    ]
    filter_horizontal = ["products", "brands", "categories"]
    autocomplete_fields = ["supplier", "customer"]
    actions = ["submit", "approve", "send_back", "terminate", "new_version"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "name",
                    "program_type",
                    "status",
                    "version",
                    "supersedes",
                    "currency",
                    "notes",
                ]
            },
        ),
        ("Parties", {"fields": ["supplier", "customer", "customer_segment"]}),
        (
            "Terms",
            {
                "fields": [
                    "basis",
                    "calc_method",
                    "tier_mode",
                    "tier_measure",
                    "period",
                    "start_date",
                    "end_date",
                    "budget_cap",
                    "accrued_amount",
                    "payout_method",
                ]
            },
        ),
        (
            "Eligible products (none chosen: every product of the supplier)",
            {"fields": ["products", "brands", "categories"]},
        ),
        (
            "Approval",
            {
                "fields": [
                    "created_by",
                    "submitted_at",
                    "approved_by",
                    "approved_at",
                    "ended_at",
                    "end_reason",
                    "row_version",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_inlines(self, request, obj):
        ptype = obj.program_type if obj else None
        if ptype == ProgramType.SHIP_AND_DEBIT:
            return [AuthorizationInline]
        if ptype == ProgramType.PRICE_PROTECTION:
            return [PriceDropInline]
        return [TierInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        else:
            obj.row_version += 1
        super().save_model(request, obj, form, change)
        event_record(
            object_type="program",
            object_id=obj.pk,
            action="edited" if change else "created",
            user=request.user,
            after={"fields": sorted(form.changed_data)},
        )

    def _each(self, request, queryset, fn, done: str) -> None:
        for program in queryset.order_by("pk"):
            try:
                fn(program)
                self.message_user(request, f"{program.code} v{program.version}: {done}.")
            except DomainError as exc:
                detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items())
                self.message_user(
                    request,
                    f"{program.code} v{program.version}: {exc.message} {detail}".strip(),
                    messages.ERROR,
                )

    @admin.action(description="Submit for approval")
    def submit(self, request, queryset):
        self._each(
            request, queryset, lambda p: program_submit(program_id=p.pk, user=request.user), "submitted"
        )

    @admin.action(description="Approve (finance)")
    def approve(self, request, queryset):
        self._each(
            request, queryset, lambda p: program_approve(program_id=p.pk, user=request.user), "approved"
        )

    @admin.action(description="Send back to draft (finance)")
    def send_back(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda p: program_reject(
                program_id=p.pk, user=request.user, reason="Sent back from the console."
            ),
            "sent back to draft",
        )

    @admin.action(description="Terminate")
    def terminate(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda p: program_terminate(
                program_id=p.pk, user=request.user, reason="Terminated from the console."
            ),
            "terminated",
        )

    @admin.action(description="New version (a draft copy to change)")
    def new_version(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda p: program_new_version(program_id=p.pk, user=request.user),
            "new draft version created",
        )


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Accrual)
class AccrualAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "pk",
        "program",
        "kind",
        "source_type",
        "source_id",
        "document",
        "source_date",
        "quantity",
        "value",
        "tier",
        "rate",
        "amount",
        "currency",
        "claim_number",
    ]
    list_filter = ["kind", "source_type", "program__program_type", "currency"]
    search_fields = ["program__code", "document", "source_id", "claim_number"]
    list_select_related = ["program"]
    date_hierarchy = "source_date"


class JournalLineInline(ReadOnly, admin.TabularInline):
    model = JournalLine
    fields = ["account", "debit", "credit", "functional_debit", "functional_credit", "memo"]
    readonly_fields = fields


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "pk",
        "entry_date",
        "kind",
        "source_type",
        "source_id",
        "program",
        "currency",
        "functional_currency",
        "memo",
    ]
    list_filter = ["kind", "currency", "entry_date"]
    search_fields = ["source_id", "memo", "program__code"]
    inlines = [JournalLineInline]
    actions = ["export_csv"]

    @admin.action(description="Export the selected entries' lines as CSV (general ledger)")
    def export_csv(self, request, queryset):
        header, rows = journal_csv_rows(entries=queryset)
        return csv_stream("rebates-journal.csv", header, rows)


@admin.register(AccountCode)
class AccountCodeAdmin(admin.ModelAdmin):
    list_display = ["program_type", "role", "account", "description"]
    list_filter = ["program_type"]


@admin.register(RebateEvent)
class RebateEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "object_type", "object_id", "action", "actor", "note"]
    list_filter = ["object_type", "action"]
    search_fields = ["note", "actor"]

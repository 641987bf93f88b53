"""Console screens for claims and settlements: read-only records (every change goes through the
claim services, which write the audit rows and the journal), with the lifecycle's plain actions.
Settling needs an amount and a method: the staff page or the API does it."""

from __future__ import annotations

from django.contrib import admin, messages

from oms.kernel.exceptions import DomainError

from .models import Claim, ClaimLine, ClaimSettlement
from .services.claims import claim_approve, claim_cancel, claim_submit, claims_generate


class ClaimLineInline(admin.TabularInline):
    model = ClaimLine
    extra = 0
    can_delete = False
    fields = ["accrual", "amount"]
    readonly_fields = fields
    raw_id_fields = ["accrual"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "program",
        "supplier",
        "customer",
        "status",
        "currency",
        "amount",
        "settled_amount",
    ]
    list_filter = ["status", "currency", "program__program_type"]
    search_fields = ["program__code", "supplier__code", "customer__account_number", "reference"]
    readonly_fields = [f.name for f in Claim._meta.fields]
    inlines = [ClaimLineInline]
    actions = ["submit", "approve", "cancel", "generate"]
    list_select_related = ["program", "supplier", "customer"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _each(self, request, queryset, service, verb: str) -> None:
        done = 0
        for claim in queryset.order_by("pk"):
            try:
                service(claim_id=claim.pk, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{claim.number}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} claim(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Submit to the supplier / customer")
    def submit(self, request, queryset):
        self._each(request, queryset, claim_submit, "submitted")

    @admin.action(description="Mark approved by the counterparty")
    def approve(self, request, queryset):
        self._each(request, queryset, claim_approve, "approved")

    @admin.action(description="Cancel (the accruals are unclaimed again)")
    def cancel(self, request, queryset):
        self._each(request, queryset, claim_cancel, "canceled")

    @admin.action(description="Generate claims for the selected claims' programs")
    def generate(self, request, queryset):
        created = []
        for program_id in sorted(set(queryset.values_list("program_id", flat=True))):
            created += claims_generate(program_id=program_id, actor=request.user)
        self.message_user(request, f"{len(created)} claim(s) generated.", messages.SUCCESS)


@admin.register(ClaimSettlement)
class ClaimSettlementAdmin(admin.ModelAdmin):
    list_display = [
        "claim",
        "method",
        "amount",
        "written_off",
        "currency",
        "reference",
        "settled_on",
        "child",
    ]
    list_filter = ["method", "currency"]
    search_fields = ["reference"]
    readonly_fields = [f.name for f in ClaimSettlement._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

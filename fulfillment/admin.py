"""The orchestration console: process definitions (versioned, validated), assignment rules,
product supply, instances with their steps (retry/skip/cancel), shipments and the audit trail;
the planning calendar (holidays) and the jeopardy policy console (thresholds, priority ranges)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from oms.kernel.exceptions import DomainError

from .models import (
    AssignmentRule,
    CustomerNotification,
    FulfillmentEvent,
    FulfillmentLine,
    Holiday,
    JeopardyAlert,
    JeopardyPolicy,
    JeopardyPriorityRange,
    JeopardyScan,
    JeopardyThreshold,
    ProcessDefinition,
    ProcessInstance,
    ProductSupply,
    Shipment,
    ShipmentLine,
    StepDefinition,
    StepInstance,
)
from .services import definition_new_version, definition_publish, process_cancel, step_retry, step_skip
from .services.definitions import definition_errors
from .services.jeopardy import RangeInput, ThresholdInput, ranges_errors, thresholds_errors
from .states import DefinitionStatus, StepStatus


class StepDefinitionFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        steps = [
            StepDefinition(
                **{k: v for k, v in f.cleaned_data.items() if k not in ("id", "DELETE", "definition")}
            )
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        errors = definition_errors(steps)
        if errors:
            raise forms.ValidationError(errors)


class StepDefinitionInline(admin.TabularInline):
    model = StepDefinition
    formset = StepDefinitionFormSet
    extra = 0
    fields = [
        "sequence",
        "name",
        "task_type",
        "branch",
        "lead_time_hours",
        "compensation",
        "pause_offset_hours",
        "pause_event",
        "target_warehouse",
    ]
    ordering = ["sequence"]

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.status != DefinitionStatus.DRAFT

    def get_readonly_fields(self, request, obj=None):
        return self.fields if self._frozen(obj) else []

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj)


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(admin.ModelAdmin):
    list_display = ["code", "version", "name", "status", "published_at"]
    list_filter = ["status"]
    search_fields = ["code", "name"]
    inlines = [StepDefinitionInline]
    actions = ["publish", "new_version"]
    readonly_fields = ["status", "published_at", "created_at"]

    class Media:
        css = {"all": ["css/admin.css"]}  # the step editor fits 1366 px without sideways scrolling

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.status != DefinitionStatus.DRAFT

    # A published version is frozen: viewable, not saved or deleted (copy it to a new draft).
    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != DefinitionStatus.DRAFT:
            return ["code", "version", "name", "description", *self.readonly_fields]
        return self.readonly_fields

    @admin.action(description="Publish (validate, freeze; new lines get this version)")
    def publish(self, request, queryset):
        for definition in queryset:
            try:
                published = definition_publish(definition_id=definition.pk)
                self.message_user(request, f"Published {published.name}, version {published.version}.")
            except DomainError as exc:
                self.message_user(request, f"{definition}: {exc.message} {exc.fields}", messages.ERROR)

    @admin.action(description="New draft version (copy)")
    def new_version(self, request, queryset):
        for definition in queryset:
            draft = definition_new_version(definition_id=definition.pk)
            self.message_user(request, f"Created {draft}.")


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = [
        "priority",
        "name",
        "process_code",
        "channel",
        "fulfillment_mode",
        "product_type",
        "category",
        "ship_method",
        "customer",
        "active",
    ]
    list_editable = ["active"]
    list_filter = ["active", "fulfillment_mode"]
    ordering = ["priority", "pk"]


@admin.register(ProductSupply)
class ProductSupplyAdmin(admin.ModelAdmin):
    list_display = ["product", "mode", "supplier", "supplier_warehouse", "lead_time_days"]
    list_filter = ["mode"]
    search_fields = ["product__sku"]
    autocomplete_fields = ["product"]


class StepInstanceInline(admin.TabularInline):
    model = StepInstance
    extra = 0
    can_delete = False
    fields = [
        "sequence",
        "task_type",
        "status",
        "planned_start",
        "planned_end",
        "actual_start",
        "actual_end",
        "attempts",
        "last_error",
        "wake_at",
        "awaited_event",
    ]
    readonly_fields = fields
    ordering = ["sequence"]

    def has_add_permission(self, request, obj=None):
        return False


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(admin.ModelAdmin):
    list_display = ["pk", "fulfillment_line", "definition", "status", "created_at", "completed_at"]
    list_filter = ["status", "definition__code"]
    search_fields = ["fulfillment_line__order_number"]
    list_select_related = ["fulfillment_line", "definition"]
    readonly_fields = [
        "fulfillment_line",
        "definition",
        "status",
        "correlation_id",
        "created_at",
        "completed_at",
    ]
    inlines = [StepInstanceInline]
    actions = ["cancel_processes"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel (compensate and cancel the fulfillment line)")
    def cancel_processes(self, request, queryset):
        for process in queryset:
            try:
                process_cancel(process_id=process.pk, actor=_actor(request), reason="canceled in the console")
            except DomainError as exc:
                self.message_user(request, f"{process}: {exc.message}", messages.ERROR)


@admin.register(StepInstance)
class StepInstanceAdmin(admin.ModelAdmin):
    """Steps needing attention (failed) are the default view: retry or skip them here."""

    list_display = [
        "pk",
        "process",
        "sequence",
        "task_type",
        "status",
        "attempts",
        "last_error",
        "updated_at",
    ]
    list_filter = ["status", "task_type"]
    search_fields = ["process__fulfillment_line__order_number"]
    readonly_fields = [f.name for f in StepInstance._meta.fields]
    actions = ["retry", "skip"]

    def has_delete_permission(self, request, obj=None):
        return False  # steps are retried, skipped or compensated, never deleted

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        if not request.GET and not request.POST:
            request.GET = request.GET.copy()
            request.GET["status__exact"] = StepStatus.FAILED
        return super().changelist_view(request, extra_context)

    @admin.action(description="Retry (the process resumes)")
    def retry(self, request, queryset):
        for step in queryset:
            try:
                step_retry(step_id=step.pk, actor=_actor(request))
            except DomainError as exc:
                self.message_user(request, f"{step}: {exc.message}", messages.ERROR)

    @admin.action(description="Skip")
    def skip(self, request, queryset):
        for step in queryset:
            try:
                step_skip(step_id=step.pk, actor=_actor(request))
            except DomainError as exc:
                self.message_user(request, f"{step}: {exc.message}", messages.ERROR)


@admin.register(FulfillmentLine)
class FulfillmentLineAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "order_number",
        "source_line_id",
        "product",
        "quantity",
        "status",
        "mode",
        "warehouse",
        "shipped_quantity",
        "billed_quantity",
    ]
    list_filter = ["status", "mode", "warehouse"]
    search_fields = ["order_number"]
    list_select_related = ["product", "warehouse"]
    readonly_fields = [f.name for f in FulfillmentLine._meta.fields]

    def has_add_permission(self, request):
        return False


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    readonly_fields = ["fulfillment_line", "quantity_requested", "quantity_shipped"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "order_number",
        "warehouse",
        "status",
        "carrier",
        "tracking_number",
        "requested_at",
        "shipped_at",
    ]
    list_filter = ["status", "warehouse"]
    search_fields = ["number", "order_number", "tracking_number"]
    readonly_fields = [f.name for f in Shipment._meta.fields]
    inlines = [ShipmentLineInline]

    def has_delete_permission(self, request, obj=None):
        return False  # a shipment is canceled or delivered, never deleted

    def has_add_permission(self, request):
        return False


@admin.register(FulfillmentEvent)
class FulfillmentEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "order_number", "fulfillment_line", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["order_number"]
    readonly_fields = [f.name for f in FulfillmentEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CustomerNotification)
class CustomerNotificationAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "kind", "reference", "recipient", "subject"]
    readonly_fields = ["sent_at", "kind", "reference", "recipient", "subject"]

    def has_add_permission(self, request):
        return False


# --- planning calendar and jeopardy policy console -------------------------------------------


def _live_rows(formset) -> list[dict]:
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


class JeopardyThresholdFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [
            ThresholdInput(min_delay=r["min_delay"], unit=r["unit"], score=r["score"])
            for r in _live_rows(self)
            if r.get("min_delay") is not None and r.get("score") is not None
        ]
        errors = thresholds_errors(rows)
        if errors:
            raise forms.ValidationError(errors)


class JeopardyPriorityRangeFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [
            RangeInput(priority=r["priority"], min_score=r["min_score"], max_score=r.get("max_score"))
            for r in _live_rows(self)
            if r.get("priority") and r.get("min_score") is not None
        ]
        errors = ranges_errors(rows)
        if errors:
            raise forms.ValidationError(errors)


class JeopardyThresholdInline(admin.TabularInline):
    model = JeopardyThreshold
    formset = JeopardyThresholdFormSet
    fields = ["min_delay", "unit", "score"]
    extra = 0
    verbose_name = "threshold (a delay of at least ... scores ...)"


class JeopardyPriorityRangeInline(admin.TabularInline):
    model = JeopardyPriorityRange
    formset = JeopardyPriorityRangeFormSet
    fields = ["priority", "min_score", "max_score"]
    extra = 0
    verbose_name = "priority range (scores from ... to ... mean ...)"


class JeopardyPolicyForm(forms.ModelForm):
    class Meta:
        model = JeopardyPolicy
        fields = ["name", "process_code", "task_type", "active"]

    def clean_process_code(self):
        code = self.cleaned_data.get("process_code", "")
        if code and not ProcessDefinition.objects.filter(code=code).exists():
            raise forms.ValidationError(f"No process definition has the code '{code}'.")
        return code


@admin.register(JeopardyPolicy)
class JeopardyPolicyAdmin(admin.ModelAdmin):
    """Thresholds (delay -> score) and priority ranges (score -> priority) per process and step
    type; the most specific active policy applies, (any, any) is the default. The next scan
    uses a change (a full one re-reads every open process)."""

    form = JeopardyPolicyForm
    list_display = ["name", "process_code", "task_type", "active", "updated_at"]
    list_filter = ["active", "task_type"]
    search_fields = ["name", "process_code"]
    inlines = [JeopardyThresholdInline, JeopardyPriorityRangeInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "warehouse"]
    list_filter = ["warehouse"]
    date_hierarchy = "date"


@admin.register(JeopardyAlert)
class JeopardyAlertAdmin(admin.ModelAdmin):
    """Read-only here: staff act on alerts in the exception workbench or through the API, so
    that every action is an audit event."""

    list_display = ["pk", "order_number", "priority", "score", "status", "role", "assigned_to", "raised_at"]
    list_filter = ["status", "priority", "role"]
    search_fields = ["order_number", "reason"]
    readonly_fields = [f.name for f in JeopardyAlert._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JeopardyScan)
class JeopardyScanAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "kind",
        "started_at",
        "finished_at",
        "processes_changed",
        "alerts_raised",
        "alerts_resolved",
        "orders_changed",
        "digests",
    ]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in JeopardyScan._meta.fields]

    def has_add_permission(self, request):
        return False


from . import cost_admin  # noqa: E402, F401  (the cost-of-change console)
from .promising import admin as promising_admin  # noqa: E402, F401  (the promising console)

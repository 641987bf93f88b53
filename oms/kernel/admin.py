from django.contrib import admin, messages

from . import events
from .models import DeliveryStatus, OutboxDelivery, OutboxEvent


class DeliveryInline(admin.TabularInline):
    model = OutboxDelivery
    extra = 0
    can_delete = False
    readonly_fields = ["subscriber", "status", "attempts", "available_at", "last_error", "done_at"]
    fields = readonly_fields


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "aggregate_type", "aggregate_id", "correlation_id", "created_at"]
    list_filter = ["topic", "aggregate_type"]
    search_fields = ["aggregate_id", "correlation_id", "topic"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    inlines = [DeliveryInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscriber", "event", "status", "attempts", "available_at", "short_error"]
    list_filter = ["status", "subscriber"]
    search_fields = ["event__aggregate_id", "event__topic", "last_error"]
    list_select_related = ["event"]
    readonly_fields = [f.name for f in OutboxDelivery._meta.fields]
    actions = ["replay"]
    show_full_result_count = False

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error or "")[:120]

    @admin.action(description="Replay selected dead letters")
    def replay(self, request, queryset):
        n = events.deliveries_replay(
            delivery_ids=queryset.filter(status=DeliveryStatus.DEAD).values_list("id", flat=True)
        )
        self.message_user(request, f"{n} dead letter(s) queued again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- security: the access log, sign-in lockouts and second factors -------------------------------

from axes.utils import reset as axes_reset  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.admin import UserAdmin  # noqa: E402

from .models import AccessLogEntry  # noqa: E402
from .twofactor import second_factor_reset  # noqa: E402


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    """Search who looked at an order, a customer, a document or an export."""

    list_display = ["at", "username", "action", "kind", "object_ref", "ip", "path"]
    list_filter = ["kind", "action"]
    search_fields = ["=object_ref", "=username", "=ip", "=correlation_id"]
    date_hierarchy = "at"
    ordering = ["-at"]
    readonly_fields = [f.name for f in AccessLogEntry._meta.fields]
    show_full_result_count = False  # the table is large: no COUNT(*) of every row

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # retention prunes it; nobody edits history


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    actions = ["unlock_sign_in", "reset_second_factor"]

    @admin.action(description="Unlock sign-in (clear failed attempts)")
    def unlock_sign_in(self, request, queryset):
        cleared = sum(axes_reset(username=user.get_username()) for user in queryset)
        self.message_user(
            request, f"Sign-in unlocked for {queryset.count()} user(s) ({cleared} record(s) cleared)."
        )

    @admin.action(description="Reset two-factor devices (user enrols again)")
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            second_factor_reset(user=user)
        self.message_user(
            request, f"Two-factor sign-in reset for {queryset.count()} user(s).", messages.WARNING
        )

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

from django.contrib import admin, messages

from . import services
from .models import (
    Channel,
    ChannelApiKey,
    Partner,
    PartnerCredential,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)


class ChannelApiKeyInline(admin.TabularInline):
    model = ChannelApiKey
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "type",
        "active",
        "reserve_at_capture",
        "trusted_prices",
        "default_currency",
    ]
    list_filter = ["type", "active", "reserve_at_capture", "trusted_prices"]
    search_fields = ["code", "name"]
    inlines = [ChannelApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request, queryset):
        for channel in queryset:
            issued = services.channel_key_issue(channel=channel, name=f"issued by {request.user}")
            self.message_user(
                request,
                f"{channel.code}: {issued.raw_key}  (copy it now; it is not stored)",
                messages.WARNING,
            )


@admin.register(ChannelApiKey)
class ChannelApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "channel", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["channel", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "channel__code"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at", "revoked_at", "channel"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are issued from the channel (shown once)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            services.channel_key_revoke(key_id=key.pk)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")


class PartnerCredentialInline(admin.TabularInline):
    model = PartnerCredential
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "type", "external_ref", "active"]
    list_filter = ["type", "active"]
    search_fields = ["code", "name", "external_ref"]
    inlines = [PartnerCredentialInline]
    actions = ["issue_credential"]

    @admin.action(description="Issue a new credential (shown once)")
    def issue_credential(self, request, queryset):
        for partner in queryset:
            issued = services.partner_credential_issue(partner=partner, name=f"issued by {request.user}")
            self.message_user(request, f"{partner.code}: {issued.raw_key}  (copy it now)", messages.WARNING)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "channel", "topics", "active", "created_at"]
    list_filter = ["active", "channel"]
    search_fields = ["url"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "topic", "status", "attempts", "response_status", "next_attempt_at"]
    list_filter = ["status", "topic"]
    search_fields = ["topic", "correlation_id", "last_error"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry selected failed deliveries")
    def retry(self, request, queryset):
        from django.utils import timezone

        n = queryset.filter(status=WebhookDeliveryStatus.FAILED).update(
            status=WebhookDeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{n} delivery(ies) queued again.")

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

KEY_COLUMNS = [
    "name",
    "prefix",
    "scope",
    "created_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "revoked_at",
]


class ChannelApiKeyInline(admin.TabularInline):
    model = ChannelApiKey
    extra = 0
    can_delete = False
    fields = KEY_COLUMNS
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


_KEY_READONLY = [
    "prefix",
    "key_hash",
    "created_at",
    "last_used_at",
    "last_used_ip",
    "revoked_at",
    "rotated_from",
]


@admin.register(ChannelApiKey)
class ChannelApiKeyAdmin(admin.ModelAdmin):
    """Scope, allowlist and expiry are edited here; the secret is never shown again. Rotation
    issues a successor (shown once) and lets this key work until the overlap ends."""

    list_display = [
        "prefix",
        "channel",
        "name",
        "scope",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
    ]
    list_filter = ["channel", "scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "channel__code"]
    readonly_fields = [*_KEY_READONLY, "channel"]
    list_select_related = ["channel"]
    actions = ["rotate", "revoke"]

    def has_add_permission(self, request):
        return False  # keys are issued from the channel (shown once)

    @admin.action(
        description="Rotate: issue a successor (shown once); the old key works until the overlap ends"
    )
    def rotate(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            issued = services.channel_key_rotate(key_id=key.pk)
            old = ChannelApiKey.objects.get(pk=key.pk)
            self.message_user(
                request,
                f"{key.channel.code}: {issued.raw_key}  (copy it now; {old.prefix} works until "
                f"{old.expires_at:%Y-%m-%d %H:%M})",
                messages.WARNING,
            )

    @admin.action(description="Revoke selected keys (effective on their next request)")
    def revoke(self, request, queryset):
        for key in queryset:
            services.channel_key_revoke(key_id=key.pk)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")


@admin.register(PartnerCredential)
class PartnerCredentialAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "partner",
        "name",
        "scope",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
    ]
    list_filter = ["partner", "scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "partner__code"]
    readonly_fields = [*_KEY_READONLY, "partner"]
    list_select_related = ["partner"]
    actions = ["rotate", "revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Rotate: issue a successor (shown once); the old one works until the overlap ends"
    )
    def rotate(self, request, queryset):
        for cred in queryset.filter(revoked_at__isnull=True):
            issued = services.partner_credential_rotate(credential_id=cred.pk)
            self.message_user(
                request, f"{cred.partner.code}: {issued.raw_key}  (copy it now)", messages.WARNING
            )

    @admin.action(description="Revoke selected credentials (effective on their next request)")
    def revoke(self, request, queryset):
        for cred in queryset:
            services.partner_credential_revoke(credential_id=cred.pk)
        self.message_user(request, f"{queryset.count()} credential(s) revoked.")


class PartnerCredentialInline(admin.TabularInline):
    model = PartnerCredential
    extra = 0
    can_delete = False
    fields = KEY_COLUMNS
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

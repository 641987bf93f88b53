"""Who talks to us from outside: channels and their keys, partner credentials, webhooks."""

from __future__ import annotations

import ipaddress

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ChannelType(models.TextChoices):
    WEB = "web", "Web storefront"
    POS = "pos", "Point of sale"
    CALL_CENTER = "call_center", "Call center"
    FIELD_SALES = "field_sales", "Field sales"
    MARKETPLACE = "marketplace", "Marketplace"
    IMPORT = "import", "File import"


class Channel(models.Model):
    """An order source, with the policies capture applies to its orders."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=20, choices=ChannelType.choices)
    active = models.BooleanField(default=True)
    reserve_at_capture = models.BooleanField(
        default=True, help_text="Reserve stock when the order is captured (else at scheduling)."
    )
    trusted_prices = models.BooleanField(
        default=False, help_text="Keep the prices the channel sends (recorded as 'source price')."
    )
    default_currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=ChannelType.values), name="channel_type_valid")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class KeyScope(models.TextChoices):
    READ = "read", "Read only (reporting tools)"
    WRITE = "write", "Read and write (storefronts)"


def validate_networks(value: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        parse_networks(value)
    except ValueError as exc:
        raise ValidationError(f"Not an address or network: {exc}") from exc


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """'203.0.113.7, 198.51.100.0/24 2001:db8::/32' -> networks (empty: any address)."""
    return tuple(ipaddress.ip_network(part, strict=False) for part in value.replace(",", " ").split())


class ApiKeyBase(models.Model):
    """A secret shown once. We keep its public prefix (lookup) and a SHA-256 of the whole key.

    A key may be limited to reading (`scope`), to some addresses (`allowed_networks`) and in time
    (`expires_at`: set on the predecessor when a key is rotated, so both work during the overlap).
    """

    name = models.CharField(max_length=120, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=5, choices=KeyScope.choices, default=KeyScope.WRITE)
    allowed_networks = models.CharField(
        max_length=500,
        blank=True,
        default="",
        validators=[validate_networks],
        help_text="Addresses or networks (CIDR) allowed to use the key, space or comma separated; "
        "empty = any.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Rotation history: the key this one replaced.
    rotated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class ChannelApiKey(ApiKeyBase):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="api_keys")

    class Meta:
        verbose_name = "channel API key"
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=KeyScope.values), name="channel_key_scope_valid")
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}:{self.prefix}"


class PartnerType(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    THIRD_PARTY_LOGISTICS = "3pl", "Third-party logistics"
    SUPPLIER = "supplier", "Supplier"


class Partner(models.Model):
    """A warehouse, 3PL or supplier system that calls us (shipment confirmations, receipts, ...)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=20, choices=PartnerType.choices)
    # Opaque reference to what the partner operates (e.g. a warehouse code); inventory sits above us.
    external_ref = models.CharField(max_length=60, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=PartnerType.values), name="partner_type_valid")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PartnerCredential(ApiKeyBase):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="credentials")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=KeyScope.values), name="partner_credential_scope_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner.code}:{self.prefix}"


class WebhookEndpoint(models.Model):
    """Where we push events; bodies are signed with HMAC-SHA256 of the endpoint's secret."""

    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="Only this channel's events (by payload 'channel' code); empty = every event.",
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    topics = models.JSONField(default=list, help_text='Topic patterns, e.g. ["order.*", "shipment.created"]')
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


WEBHOOK_DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    WebhookDeliveryStatus.PENDING: frozenset({WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.FAILED}),
    WebhookDeliveryStatus.DELIVERED: frozenset(),
    WebhookDeliveryStatus.FAILED: frozenset({WebhookDeliveryStatus.PENDING}),
}


class WebhookDelivery(models.Model):
    """The delivery log: one row per event per endpoint, with every attempt's outcome."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField()
    topic = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=Q(status__in=WebhookDeliveryStatus.values), name="webhook_delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} -> {self.endpoint_id} ({self.status})"

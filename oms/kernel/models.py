from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    DEAD = "dead", "Dead letter"


# pending -> done (handler committed), pending -> dead (retries exhausted), dead -> pending (replay)
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.DONE, DeliveryStatus.DEAD}),
    DeliveryStatus.DONE: frozenset(),
    DeliveryStatus.DEAD: frozenset({DeliveryStatus.PENDING}),
}


class OutboxEvent(models.Model):
    """A fact published inside the transaction that caused it."""

    topic = models.CharField(max_length=100, db_index=True)
    aggregate_type = models.CharField(max_length=50, blank=True, default="")
    aggregate_id = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.aggregate_type}:{self.aggregate_id}"

    @property
    def aggregate_key(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id}" if self.aggregate_type else ""


class OutboxDelivery(models.Model):
    """One subscriber's copy of one event: its own attempts, backoff and dead letter."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=100)
    # Copied from the event: deliveries with the same (subscriber, aggregate_key) go in id order.
    aggregate_key = models.CharField(max_length=120, blank=True, default="")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "outbox deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="outbox_delivery_once_per_subscriber"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="outbox_delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["available_at", "id"], condition=Q(status="pending"), name="outbox_delivery_due"
            ),
            models.Index(
                fields=["subscriber", "aggregate_key", "id"],
                condition=Q(status="pending"),
                name="outbox_delivery_agg_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} <- event #{self.event_id} ({self.status})"


class ReferenceDataVersion(models.Model):
    """One row per kind of cached reference data (`oms.kernel.refcache`): bumped in the same
    transaction as every change to what it caches, read by each process to know when to reload."""

    name = models.CharField(max_length=100, primary_key=True)
    version = models.BigIntegerField(default=1)
    # New at every bump: a version number reused after a rollback never matches a stale cache.
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class AccessKind(models.TextChoices):
    ORDER = "order", "Order"
    CUSTOMER = "customer", "Customer"
    DOCUMENT = "document", "Document"
    EXPORT = "export", "Export"


class AccessLogEntry(models.Model):
    """Who looked at what, when, from where: one row per staff view of an order, a customer, a
    document or an export. Append-only and built for volume: no foreign keys (a deleted user's
    rows keep the name they had), narrow columns, indexes for the admin's searches, and rows older
    than OMS_ACCESS_LOG_RETENTION_DAYS pruned by beat (`oms.kernel.accesslog.access_log_prune`)."""

    at = models.DateTimeField(default=timezone.now)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=AccessKind.choices)
    object_ref = models.CharField(
        max_length=64, help_text="Order number, customer id, document or export name."
    )
    action = models.CharField(max_length=20, default="view")
    path = models.CharField(max_length=300)
    ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    correlation_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AccessKind.values), name="access_log_kind_valid")
        ]
        indexes = [
            models.Index(fields=["at"], name="access_log_at"),
            models.Index(fields=["kind", "object_ref", "at"], name="access_log_object"),
            models.Index(fields=["username", "at"], name="access_log_user"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.kind} {self.object_ref} at {self.at:%Y-%m-%d %H:%M}"

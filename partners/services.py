"""Writes for channels, API keys, partner credentials and webhook deliveries."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from oms.kernel import events, rawrows
from oms.kernel.exceptions import NotFound

from .models import (
    Channel,
    ChannelApiKey,
    Partner,
    PartnerCredential,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

# A long random key makes a plain SHA-256 as good as a slow password hash (nothing to brute-force),
# and it costs microseconds per request instead of hundreds of milliseconds.
KEY_SCHEME = "sha256"
_PREFIX_LEN = 12
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_secret(kind: str) -> tuple[str, str]:
    prefix = secrets.token_hex(_PREFIX_LEN // 2)
    return prefix, f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"


def split_key(raw_key: str) -> tuple[str, str] | None:
    """'ck_<prefix>_<secret>' -> (kind, prefix), or None for a malformed key."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] not in {"ck", "pk"} or len(parts[1]) != _PREFIX_LEN:
        return None
    return parts[0], parts[1]


@dataclass(frozen=True)
class IssuedKey:
    id: int
    prefix: str
    raw_key: str  # shown once, never stored


@transaction.atomic
def channel_key_issue(*, channel: Channel, name: str = "") -> IssuedKey:
    prefix, raw = _new_secret("ck")
    key = ChannelApiKey.objects.create(channel=channel, name=name, prefix=prefix, key_hash=hash_key(raw))
    return IssuedKey(id=key.pk, prefix=prefix, raw_key=raw)


@transaction.atomic
def partner_credential_issue(*, partner: Partner, name: str = "") -> IssuedKey:
    prefix, raw = _new_secret("pk")
    cred = PartnerCredential.objects.create(partner=partner, name=name, prefix=prefix, key_hash=hash_key(raw))
    return IssuedKey(id=cred.pk, prefix=prefix, raw_key=raw)


def channel_key_revoke(*, key_id: int) -> ChannelApiKey:
    updated = ChannelApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    key = ChannelApiKey.objects.filter(pk=key_id).first()
    if key is None:
        raise NotFound("No such API key.")
    if updated:
        log.info("channel API key %s revoked", key.prefix)
    return key


def partner_credential_revoke(*, credential_id: int) -> PartnerCredential:
    PartnerCredential.objects.filter(pk=credential_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    cred = PartnerCredential.objects.filter(pk=credential_id).first()
    if cred is None:
        raise NotFound("No such credential.")
    return cred


def _touch_last_used(model, pk: int, last_used_at) -> None:
    # At most one write per key per minute: a busy storefront must not turn every read into a write.
    now = timezone.now()
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        model.objects.filter(pk=pk).update(last_used_at=now)


@functools.cache
def _lookup(model, owner: str, vendor: str) -> tuple[str, rawrows.Columns, rawrows.Columns]:
    """The lookup statement for `model`'s keys joined to their owner, built once from the
    models' names: it runs on every API request, and the ORM's compilation of this join cost
    several times the database's answer."""
    quote = connection.ops.quote_name
    owner_field = model._meta.get_field(owner)
    owner_model = owner_field.related_model
    k, o = rawrows.Columns(model, "k"), rawrows.Columns(owner_model, "o")
    sql = (
        f"SELECT {k.sql}, {o.sql} FROM {quote(model._meta.db_table)} k "  # noqa: S608 (model names)
        f"JOIN {quote(owner_model._meta.db_table)} o "
        f"ON o.{quote(owner_model._meta.pk.column)} = k.{quote(owner_field.column)} "
        f"WHERE k.{quote(model._meta.get_field('prefix').column)} = %s "
        f"AND k.{quote(model._meta.get_field('revoked_at').column)} IS NULL "
        f"AND o.{quote(owner_model._meta.get_field('active').column)} = %s"
    )
    return sql, k, o


def _authenticate(model, kind: str, owner: str, raw_key: str):
    """The active credential of `model` for `raw_key` (with its owner loaded), or None.

    One indexed query on the public prefix, a constant-time comparison of the SHA-256, plus a
    throttled last-used stamp."""
    parsed = split_key(raw_key)
    if parsed is None or parsed[0] != kind:
        return None
    sql, k, o = _lookup(model, owner, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [parsed[1], True])
        row = cursor.fetchone()
    if row is None:
        return None
    found = k.instance(row, 0)
    if not hmac.compare_digest(found.key_hash, hash_key(raw_key)):
        return None
    model._meta.get_field(owner).set_cached_value(found, o.instance(row, k.width))
    _touch_last_used(model, found.pk, found.last_used_at)
    return found


def channel_key_authenticate(raw_key: str) -> ChannelApiKey | None:
    return _authenticate(ChannelApiKey, "ck", "channel", raw_key)


def partner_credential_authenticate(raw_key: str) -> PartnerCredential | None:
    return _authenticate(PartnerCredential, "pk", "partner", raw_key)


# --- outbound webhooks -----------------------------------------------------------------------


@events.subscriber("partners.webhooks", topics=["*"])
def webhooks_fan_out(event: events.Event) -> None:
    """Log one delivery per matching endpoint; the send happens after commit (and by the sweep)."""
    channel_code = (event.payload or {}).get("channel")
    endpoints = [
        ep
        for ep in WebhookEndpoint.objects.filter(active=True).select_related("channel")
        if events.topic_matches(event.topic, ep.topics)
        and (ep.channel is None or ep.channel.code == channel_code)
    ]
    if not endpoints:
        return
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=ep,
                event_id=event.id,
                topic=event.topic,
                payload={
                    "id": event.id,
                    "topic": event.topic,
                    "created_at": event.created_at.isoformat(),
                    "data": event.payload,
                },
                correlation_id=event.correlation_id,
            )
            for ep in endpoints
        ],
        ignore_conflicts=True,
    )
    ids = [r.pk for r in rows if r.pk]
    transaction.on_commit(lambda: _kick_sends(ids), robust=True)


def _kick_sends(ids: list[int]) -> None:
    from .tasks import webhook_send

    for delivery_id in ids:
        try:
            webhook_send.apply_async(args=[delivery_id], retry=False)
        except Exception as exc:
            log.warning("webhook send kick failed, the sweep will send: %s", exc)
            return


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


WEBHOOK_MAX_ATTEMPTS = 10


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """POST one delivery. Claimed by a conditional UPDATE (a lease via next_attempt_at), so two
    workers never send the same attempt; the outcome is logged on the row."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.OMS_WEBHOOK_TIMEOUT_SECONDS * 3)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not claimed:
        return delivery
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    ts = str(int(now.timestamp()))
    request = urllib.request.Request(  # noqa: S310 - endpoints are admin-configured http(s) URLs
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "oms-webhooks/1",
            "X-OMS-Event": delivery.topic,
            "X-OMS-Delivery": str(delivery.pk),
            "X-OMS-Signature": sign(delivery.endpoint.secret, ts, body),
            "X-Request-ID": delivery.correlation_id,
        },
    )
    status, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=settings.OMS_WEBHOOK_TIMEOUT_SECONDS) as resp:  # noqa: S310
            status = resp.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    attempts = delivery.attempts + 1
    fields: dict = {"attempts": attempts, "response_status": status, "last_error": error[:2000]}
    if status is not None and 200 <= status < 300:
        fields.update(status=WebhookDeliveryStatus.DELIVERED, delivered_at=timezone.now(), last_error="")
    elif attempts >= WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=WebhookDeliveryStatus.FAILED)
    else:
        fields.update(next_attempt_at=timezone.now() + timedelta(seconds=min(2**attempts, 3600)))
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)
    delivery.refresh_from_db()
    return delivery


def webhook_due_ids(limit: int = 500) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )

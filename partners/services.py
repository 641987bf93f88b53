"""Writes for channels, API keys, partner credentials and webhook deliveries."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
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
from django.db.models import Q
from django.utils import timezone

from oms.kernel import events, rawrows
from oms.kernel.exceptions import NotFound

from .models import (
    Channel,
    ChannelApiKey,
    KeyScope,
    Partner,
    PartnerCredential,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    parse_networks,
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
def channel_key_issue(
    *,
    channel: Channel,
    name: str = "",
    scope: str = KeyScope.WRITE,
    allowed_networks: str = "",
    expires_at=None,
) -> IssuedKey:
    parse_networks(allowed_networks)  # ValueError on a bad network, before anything is written
    prefix, raw = _new_secret("ck")
    key = ChannelApiKey.objects.create(
        channel=channel,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw),
        scope=KeyScope(scope),
        allowed_networks=allowed_networks,
        expires_at=expires_at,
    )
    return IssuedKey(id=key.pk, prefix=prefix, raw_key=raw)


@transaction.atomic
def partner_credential_issue(
    *, partner: Partner, name: str = "", scope: str = KeyScope.WRITE, allowed_networks: str = ""
) -> IssuedKey:
    parse_networks(allowed_networks)
    prefix, raw = _new_secret("pk")
    cred = PartnerCredential.objects.create(
        partner=partner,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw),
        scope=KeyScope(scope),
        allowed_networks=allowed_networks,
    )
    return IssuedKey(id=cred.pk, prefix=prefix, raw_key=raw)


def _rotate(model, kind: str, owner: str, key_id: int, expires_at, name: str) -> IssuedKey:
    """A successor with the same owner, scope and allowlist; the predecessor keeps working until
    `expires_at` (default: now + OMS_API_KEY_ROTATION_OVERLAP_DAYS, never later than an expiry
    it already had), so the caller can deploy the new key without downtime."""
    old = model.objects.select_for_update(of=("self",)).filter(pk=key_id, revoked_at__isnull=True).first()
    if old is None:
        raise NotFound("No such active key.")
    now = timezone.now()
    until = expires_at or now + timedelta(days=settings.OMS_API_KEY_ROTATION_OVERLAP_DAYS)
    if old.expires_at is not None:
        until = min(until, old.expires_at)
    prefix, raw = _new_secret(kind)
    new = model.objects.create(
        **{owner: getattr(old, owner)},
        name=name or old.name,
        prefix=prefix,
        key_hash=hash_key(raw),
        scope=old.scope,
        allowed_networks=old.allowed_networks,
        rotated_from=old,
    )
    model.objects.filter(pk=old.pk).update(expires_at=until)
    log.info(
        "%s %s rotated to %s; the old key works until %s", model._meta.verbose_name, old.prefix, prefix, until
    )
    return IssuedKey(id=new.pk, prefix=prefix, raw_key=raw)


@transaction.atomic
def channel_key_rotate(*, key_id: int, expires_at=None, name: str = "") -> IssuedKey:
    return _rotate(ChannelApiKey, "ck", "channel", key_id, expires_at, name)


@transaction.atomic
def partner_credential_rotate(*, credential_id: int, expires_at=None, name: str = "") -> IssuedKey:
    return _rotate(PartnerCredential, "pk", "partner", credential_id, expires_at, name)


def channel_key_revoke(*, key_id: int) -> ChannelApiKey:
    """Effective on the key's next request: every request looks the key up (no cache)."""
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


def _touch_last_used(model, pk: int, last_used_at, ip: str | None) -> None:
    # At most one write per key per minute: a busy storefront must not turn every read into a
    # write. The row read for the lookup tells whether it is due; the UPDATE is conditional too,
    # so concurrent requests of one key write once.
    now = timezone.now()
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        model.objects.filter(pk=pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now, last_used_ip=ip)


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


def _authenticate(model, kind: str, owner: str, raw_key: str, ip: str | None = None):
    """The active credential of `model` for `raw_key` (with its owner loaded), or None (also when
    it expired: a rotated key's predecessor stops at its `expires_at`).

    One indexed query on the public prefix, a constant-time comparison of the SHA-256, the expiry
    checked on the row read, plus a throttled last-used stamp (time and address)."""
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
    if found.expires_at is not None and found.expires_at <= timezone.now():
        return None
    model._meta.get_field(owner).set_cached_value(found, o.instance(row, k.width))
    _touch_last_used(model, found.pk, found.last_used_at, _ip_or_none(ip))
    return found


def _ip_or_none(raw: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(raw)) if raw else None
    except ValueError:
        return None


def channel_key_authenticate(raw_key: str, ip: str | None = None) -> ChannelApiKey | None:
    return _authenticate(ChannelApiKey, "ck", "channel", raw_key, ip)


def partner_credential_authenticate(raw_key: str, ip: str | None = None) -> PartnerCredential | None:
    return _authenticate(PartnerCredential, "pk", "partner", raw_key, ip)


def key_refusal(key, *, ip: str | None, write: bool) -> str | None:
    """Why an authenticated key may not make this request (None: it may): a read-only key asked
    to write, or an address outside the key's allowlist. Checked on the row already read."""
    if write and key.scope != KeyScope.WRITE:
        return "This API key is read-only."
    if key.allowed_networks:
        address = _ip_or_none(ip)
        networks = _networks(key.allowed_networks)
        if address is None or not any(ipaddress.ip_address(address) in net for net in networks):
            return "This API key may not be used from your address."
    return None


@functools.lru_cache(maxsize=1024)
def _networks(value: str):
    return parse_networks(value)


# --- bad keys per address ---------------------------------------------------------------------


def _bad_key_cache_key(ip: str) -> str:
    return f"oms:api-bad-key:{ip}"


def bad_key_blocked(ip: str | None) -> bool:
    """Whether this address sent OMS_API_BAD_KEY_LIMIT bad keys in the current window (fails
    open while the cache is down)."""
    from django.core.cache import cache

    if not ip:
        return False
    return (cache.get(_bad_key_cache_key(ip)) or 0) >= settings.OMS_API_BAD_KEY_LIMIT


def bad_key_note(ip: str | None) -> int:
    """Count one bad key from `ip`; the window starts at the first and lasts
    OMS_API_BAD_KEY_WINDOW_SECONDS. One INCR on Redis."""
    from django.core.cache import cache

    from oms.kernel.cache import redis_backend, redis_command

    if not ip:
        return 0
    key, window = _bad_key_cache_key(ip), settings.OMS_API_BAD_KEY_WINDOW_SECONDS
    if redis_backend() is not None:

        def incr(client, full_key: str) -> int:
            count = client.incr(full_key)
            if count == 1:
                client.expire(full_key, window)
            return count

        return redis_command(key, incr, 0)
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        return 0


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
    """Pending deliveries that are due, oldest due first; deliveries due at the same moment go in
    the order they were created, so a channel hears of one order's changes in their order."""
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )

"""Idempotency keys: claim, complete, replay, expire.

The claim commits in its own transaction before the work starts, with a lease: a duplicate that
arrives while the first request runs finds the row in flight (409), one that arrives after finds
the stored response and replays it byte for byte. A 5xx (or a crash) gives the key back instead
of storing the failure, so the client's retry does the work. Keys are scoped per API principal.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from oms.kernel import fastinsert
from oms.kernel.exceptions import IdempotencyKeyReused, InFlight, ValidationFailed

from ..models import IdempotencyKey, IdempotencyStatus

MAX_KEY_LENGTH = 255
# Visible ASCII, spaces only inside (HTTP trims a header's ends): the API schema publishes it.
KEY_PATTERN = rf"^[!-~](?:[ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$"


def _lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "OMS_IDEMPOTENCY_LEASE_SECONDS", 60))


def _ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "OMS_IDEMPOTENCY_TTL_HOURS", 24))


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """Either the key is ours to work under (`claimed`), or it holds a response to replay."""

    claimed: IdempotencyKey | None = None
    replay: IdempotencyKey | None = None


def idempotency_claim(*, principal: str, key: str, request_hash: str) -> Claim:
    if not re.fullmatch(KEY_PATTERN, key or ""):
        raise ValidationFailed(
            "The Idempotency-Key header is not valid.",
            fields={"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} visible ASCII characters."]},
        )
    for _ in range(3):
        now = timezone.now()
        row = IdempotencyKey(
            principal=principal,
            key=key,
            request_hash=request_hash,
            status=IdempotencyStatus.IN_FLIGHT,
            locked_until=now + _lease(),
            expires_at=now + _ttl(),
        )
        try:
            if transaction.get_connection().in_atomic_block:
                with transaction.atomic():  # a savepoint keeps the caller's transaction usable
                    fastinsert.insert([row])
            else:
                fastinsert.insert([row])  # one statement, committed on its own
            return Claim(claimed=row)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(principal=principal, key=key).first()
        if existing is None:
            continue  # given back (a 5xx) between our insert and our read: claim again
        if existing.expires_at <= now:
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if existing.status == IdempotencyStatus.COMPLETED:
            return Claim(replay=existing)
        if existing.locked_until and existing.locked_until > now:
            raise InFlight()
        # The first request's lease ran out (its process died): take the key over.
        taken = IdempotencyKey.objects.filter(
            pk=existing.pk, status=IdempotencyStatus.IN_FLIGHT, locked_until__lte=now
        ).update(locked_until=now + _lease())
        if taken:
            existing.refresh_from_db()
            return Claim(claimed=existing)
        raise InFlight()
    raise InFlight()


def idempotency_complete(*, claim: IdempotencyKey, status: int, body: bytes, content_type: str) -> None:
    """Store the answer to replay; a 5xx is never the answer (the key is given back instead)."""
    if status >= 500:
        idempotency_abandon(claim=claim)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _complete_sql(),
            [
                IdempotencyStatus.COMPLETED,
                None,
                status,
                body,
                content_type,
                claim.pk,
                IdempotencyStatus.IN_FLIGHT,
            ],
        )


@functools.cache
def _complete_sql() -> str:
    """Every capture stores its answer: SQL from the model's names, compiled once (the ORM's
    UPDATE compilation cost more than the write)."""
    quote, meta = connection.ops.quote_name, IdempotencyKey._meta
    column = {
        f: quote(meta.get_field(f).column)
        for f in ("status", "locked_until", "response_status", "response_body", "response_content_type")
    }
    sets = ", ".join(
        f"{column[f]} = %s"
        for f in ("status", "locked_until", "response_status", "response_body", "response_content_type")
    )
    return (
        f"UPDATE {quote(meta.db_table)} SET {sets} "  # noqa: S608 (model names; values are parameters)
        f"WHERE {quote(meta.pk.column)} = %s AND {column['status']} = %s"
    )


def idempotency_abandon(*, claim: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=claim.pk, status=IdempotencyStatus.IN_FLIGHT).delete()


def idempotency_keys_expire() -> int:
    """Delete keys past their 24 h (one set-based statement; run by beat)."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted

"""The access log: record a staff view of an order, a customer, a document or an export, and
prune old rows (docs/security.md). One INSERT per view, nothing read."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from .context import get_correlation_id
from .models import AccessKind, AccessLogEntry
from .security import client_ip

PRUNE_BATCH = 10_000


def _ip_or_none(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def access_record(*, request: HttpRequest, kind: AccessKind | str, object_ref: str, action: str = "view"):
    """One row: the signed-in user, what they opened, when, and from which address."""
    user = request.user
    return AccessLogEntry.objects.create(
        user_id=user.pk if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "",
        kind=AccessKind(kind),
        object_ref=str(object_ref)[:64],
        action=action[:20],
        path=request.get_full_path()[:300],
        ip=_ip_or_none(client_ip(request)),
        correlation_id=get_correlation_id() or "",
    )


def access_log_prune(*, now=None) -> int:
    """Delete rows older than the retention, in batches by primary key (short transactions, no
    long lock on a table that every staff view writes to)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OMS_ACCESS_LOG_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(
            AccessLogEntry.objects.filter(at__lt=cutoff)
            .order_by("at")
            .values_list("id", flat=True)[:PRUNE_BATCH]
        )
        if not ids:
            return total
        total += AccessLogEntry.objects.filter(id__in=ids).delete()[0]

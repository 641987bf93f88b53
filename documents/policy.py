"""Communications policy: which channel sends which document when (quiet hours), how (one
digest per order and recipient within a window) and whether (disabled, or unsubscribed from
marketing-type messages). The most specific policy wins: channel and type, then channel, then
type, then the default; without any policy, every mail goes at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .models import CommunicationPolicy, Unsubscribe


@dataclass(frozen=True)
class Decision:
    send: bool
    not_before: datetime
    digest_minutes: int = 0
    marketing: bool = False
    reason: str = ""


def policy_for(*, channel: str, doc_type: str) -> CommunicationPolicy | None:
    candidates = CommunicationPolicy.objects.filter(
        Q(channel=channel) | Q(channel=""), Q(doc_type=doc_type) | Q(doc_type="")
    )
    ranked = sorted(candidates, key=lambda p: (p.channel == "", p.doc_type == ""))
    return ranked[0] if ranked else None


def quiet_until(policy: CommunicationPolicy | None, now: datetime) -> datetime:
    """`now`, or the end of the quiet hours `now` falls in (a window may span midnight)."""
    if policy is None or policy.quiet_start is None or policy.quiet_end is None:
        return now
    local = timezone.localtime(now)
    start, end, t = policy.quiet_start, policy.quiet_end, local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return now
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends


def decide(*, channel: str, doc_type: str, recipient: str, now: datetime | None = None) -> Decision:
    now = now or timezone.now()
    policy = policy_for(channel=channel, doc_type=doc_type)
    if policy is not None and not policy.enabled:
        return Decision(send=False, not_before=now, reason="disabled by the communications policy")
    marketing = bool(policy and policy.marketing)
    if marketing and Unsubscribe.objects.filter(email=recipient.lower()).exists():
        return Decision(send=False, not_before=now, marketing=True, reason="unsubscribed")
    digest = policy.digest_minutes if policy else 0
    not_before = quiet_until(policy, now + timedelta(minutes=digest))
    return Decision(send=True, not_before=not_before, digest_minutes=digest, marketing=marketing)

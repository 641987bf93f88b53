"""Jeopardy: policy validation, the scheduled scan (set-based SQL) and the staff actions on
alerts (acknowledge, assign, resolve with a note). Every action is a FulfillmentEvent."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from oms.kernel.exceptions import NotFound, ValidationFailed
from orders.actors import Actor

from ..audit import fevent
from ..models import JeopardyAlert
from ..states import (
    ALERT_TRANSITIONS,
    DELAY_UNIT_HOURS,
    PRIORITY_RANK,
    AlertResolution,
    JeopardyAlertStatus,
    JeopardyPriority,
    ensure_transition,
)

# --- policy validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class RangeInput:
    priority: str
    min_score: int
    max_score: int | None


@dataclass(frozen=True)
class ThresholdInput:
    min_delay: Decimal
    unit: str
    score: int


def policy_validate(*, thresholds: Iterable[ThresholdInput], ranges: Iterable[RangeInput]) -> None:
    """Refuse thresholds that repeat a delay or lower the score as the delay grows, and priority
    ranges that overlap, leave a gap, do not start at 0, repeat a priority or rank priorities
    against their scores. Raises ValidationFailed (400) with a message a person can act on."""
    errors: dict[str, list[str]] = {}
    seen: dict[Decimal, ThresholdInput] = {}
    for t in thresholds:
        if t.unit not in DELAY_UNIT_HOURS:
            errors.setdefault("thresholds", []).append(f"Unknown unit '{t.unit}'.")
            continue
        if t.score is None or t.score < 0:
            errors.setdefault("thresholds", []).append("A score is 0 or more.")
            continue
        hours = Decimal(t.min_delay) * DELAY_UNIT_HOURS[t.unit]
        if hours in seen:
            errors.setdefault("thresholds", []).append(
                f"Two thresholds start at the same delay ({t.min_delay} {t.unit} = {seen[hours].min_delay} "
                f"{seen[hours].unit}): they overlap."
            )
        seen[hours] = t
    ordered = sorted(seen.items())
    for (h1, a), (h2, b) in itertools.pairwise(ordered):
        if b.score < a.score:
            errors.setdefault("thresholds", []).append(
                f"The score falls from {a.score} to {b.score} as the delay grows from {h1} h to {h2} h."
            )
    rs = sorted(ranges, key=lambda r: (r.min_score, r.max_score if r.max_score is not None else 10**9))
    msgs: list[str] = []
    priorities = [r.priority for r in rs]
    for p in priorities:
        if p not in JeopardyPriority.values:
            msgs.append(f"Unknown priority '{p}'.")
    if len(set(priorities)) != len(priorities):
        msgs.append("Each priority may have only one range.")
    if not rs:
        msgs.append("Give at least one priority range (the 'on time' range starts at 0).")
    else:
        if rs[0].min_score != 0:
            msgs.append(f"The ranges must start at score 0 (the lowest starts at {rs[0].min_score}).")
        for a, b in itertools.pairwise(rs):
            if a.max_score is None or b.min_score <= a.max_score:
                top = "no upper bound" if a.max_score is None else a.max_score
                msgs.append(
                    f"The ranges of {a.priority} ({a.min_score}..{top}) and {b.priority} "
                    f"({b.min_score}..{b.max_score if b.max_score is not None else ''}) overlap."
                )
            elif b.min_score > a.max_score + 1:
                msgs.append(
                    f"Scores {a.max_score + 1}..{b.min_score - 1} have no priority (a gap between "
                    f"{a.priority} and {b.priority})."
                )
        for r in rs:
            if r.max_score is not None and r.max_score < r.min_score:
                msgs.append(
                    f"The range of {r.priority} ends ({r.max_score}) below its start ({r.min_score})."
                )
        ranks = [PRIORITY_RANK.get(r.priority, -1) for r in rs]
        if ranks != sorted(ranks):
            msgs.append("A higher score must never mean a lower priority (on time < low < medium < high).")
    if msgs:
        errors["priority_ranges"] = msgs
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=errors)


# --- alert actions --------------------------------------------------------------------------


def _viewer(actor: Actor) -> Any:
    return SimpleNamespace(channel=actor.channel) if actor.channel is not None else actor.user


def _lock_alert(alert_id: int, actor: Actor) -> JeopardyAlert:
    from ..selectors import alerts_visible_to

    visible = alerts_visible_to(_viewer(actor)).filter(pk=alert_id)
    alert = (
        JeopardyAlert.objects.select_for_update(of=("self",))
        .select_related("fulfillment_line", "process")
        .filter(pk__in=visible.values("pk"))
        .first()
    )
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def _audit(alert: JeopardyAlert, kind: str, actor: Actor, before: dict, after: dict, data=None) -> None:
    fevent(
        kind,
        line=alert.fulfillment_line,
        process=alert.process,
        actor=actor.label,
        before=before,
        after=after,
        data={"alert": alert.pk, **(data or {})},
    )


@transaction.atomic
def alert_acknowledge(*, alert_id: int, actor: Actor) -> JeopardyAlert:
    """Someone has seen the alert (open -> acknowledged)."""
    alert = _lock_alert(alert_id, actor)
    ensure_transition(ALERT_TRANSITIONS, alert.status, JeopardyAlertStatus.ACKNOWLEDGED)
    before = alert.status
    alert.status = JeopardyAlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor.user
    alert.save()
    _audit(alert, "alert_acknowledged", actor, {"status": before}, {"status": alert.status})
    return alert


@transaction.atomic
def alert_assign(*, alert_id: int, actor: Actor, assignee_id: int | None) -> JeopardyAlert:
    """Give an unresolved alert to an active staff member (None: take it back)."""
    alert = _lock_alert(alert_id, actor)
    if alert.status == JeopardyAlertStatus.RESOLVED:
        ensure_transition(ALERT_TRANSITIONS, alert.status, alert.status)  # raises: resolved is final
    assignee = None
    if assignee_id is not None:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True, is_staff=True).first()
        if assignee is None:
            raise ValidationFailed(
                "Assign the alert to an active staff member.", fields={"assignee": ["No such staff member."]}
            )
    before = {"assigned_to": alert.assigned_to_id}
    alert.assigned_to = assignee
    alert.assigned_at = timezone.now() if assignee else None
    alert.save()
    _audit(
        alert,
        "alert_assigned",
        actor,
        before,
        {"assigned_to": assignee.pk if assignee else None},
        {"assignee": assignee.get_username() if assignee else ""},
    )
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: int, actor: Actor, note: str) -> JeopardyAlert:
    """Close the alert with a note saying what was done (open/acknowledged -> resolved)."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(
            "Say what was done: a note is required.", fields={"note": ["This field is required."]}
        )
    alert = _lock_alert(alert_id, actor)
    ensure_transition(ALERT_TRANSITIONS, alert.status, JeopardyAlertStatus.RESOLVED)
    before = alert.status
    alert.status = JeopardyAlertStatus.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = actor.user
    alert.resolution = AlertResolution.STAFF
    alert.note = note
    alert.save()
    _audit(alert, "alert_resolved", actor, {"status": before}, {"status": alert.status}, {"note": note})
    return alert


@dataclass(frozen=True)
class AlertActionResult:
    alert_id: int
    ok: bool
    message: str = ""


def alerts_assign_bulk(
    *, alert_ids: Iterable[int], actor: Actor, assignee_id: int | None
) -> list[AlertActionResult]:
    """Assign several alerts, each in its own transaction, with a result per alert (the staff
    workbench's bulk action)."""
    from oms.kernel.exceptions import DomainError

    results = []
    for alert_id in alert_ids:
        try:
            alert_assign(alert_id=alert_id, actor=actor, assignee_id=assignee_id)
            results.append(AlertActionResult(alert_id, True))
        except DomainError as exc:
            results.append(AlertActionResult(alert_id, False, exc.message))
    return results

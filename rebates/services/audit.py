"""The audit row every change in the rebates app writes (programs, authorizations, price drops,
accrual runs, claims): who, what, when, before/after."""

from __future__ import annotations

from typing import Any

from ..models import RebateEvent


def _actor_label(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    return f"user:{user.get_username()}"


def event_record(
    *,
    object_type: str,
    object_id: int,
    action: str,
    user=None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> RebateEvent:
    """Write one audit row in the caller's transaction. `user` is a staff user or None (system)."""
    return RebateEvent.objects.create(
        object_type=object_type,
        object_id=object_id,
        action=action,
        before=before,
        after=after,
        note=note[:500],
        actor=_actor_label(user),
        user=user if getattr(user, "is_authenticated", False) else None,
    )

"""Holds: applied and released by people with the hold code's roles, or by the system when the
cause (credit, compliance) clears. A hold never changes the order's status."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.kernel.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from oms.kernel.roles import Role

from ..actors import Actor
from ..audit import event_record
from ..models import COMPLIANCE_HOLD, CREDIT_HOLD, EventKind, HoldCode, OrderHold, SalesOrder
from ..reference import hold_code_cached
from ..states import HoldScope

CHANNEL_ROLE = "channel"  # pseudo-role in apply_roles/release_roles: the order's own channel key

_SYSTEM_CODES = {
    CREDIT_HOLD: ("Credit hold", [Role.FINANCE.value], HoldScope.ALL),
    COMPLIANCE_HOLD: ("Trade-compliance hold", [Role.ADMIN.value], HoldScope.ALL),
}


def system_hold_code(code: str) -> HoldCode:
    """The system's own hold codes, created on first use (so no data migration must have run)."""
    cached = hold_code_cached(code)
    if cached is not None:
        return cached
    name, roles, stops = _SYSTEM_CODES[code]
    hold_code, _ = HoldCode.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "is_system": True,
            "stops": stops,
            "apply_roles": roles,
            "release_roles": roles,
        },
    )
    return hold_code


def _may(actor: Actor, roles: list[str]) -> bool:
    if actor.is_system:
        return True
    if actor.channel is not None:
        return CHANNEL_ROLE in roles
    if actor.has_role(Role.ADMIN):
        return True
    return any(r in Role.values and actor.has_role(r) for r in roles)


@transaction.atomic
def hold_apply(
    *, order_id: int, actor: Actor, code: str, reason: str, line_id: int | None = None
) -> OrderHold:
    if not reason.strip():
        raise ValidationFailed("A hold needs a reason.", fields={"reason": ["Required."]})
    order = SalesOrder.objects.select_for_update(of=("self",)).filter(pk=order_id, is_current=True).first()
    if order is None:
        raise NotFound("No such order.")
    hold_code = HoldCode.objects.filter(code=code, active=True).first()
    if hold_code is None:
        raise ValidationFailed("Unknown hold code.", fields={"code": [f"No active hold code '{code}'."]})
    if not _may(actor, hold_code.apply_roles):
        raise PermissionDenied(f"You may not apply the '{code}' hold.")
    if line_id is not None and not order.lines.filter(pk=line_id).exists():
        raise ValidationFailed("No such line on this order.", fields={"line": ["Unknown line."]})
    try:
        with transaction.atomic():
            hold = OrderHold.objects.create(
                order=order,
                line_id=line_id,
                hold_code=hold_code,
                reason=reason.strip(),
                applied_by=actor.label,
                applied_by_user=actor.user,
            )
    except IntegrityError as exc:
        raise Conflict(f"The order already has an active '{code}' hold.") from exc
    event_record(
        order, actor, EventKind.HOLD_APPLIED, after={"hold": code, "hold_id": hold.pk}, reason=hold.reason
    )
    return hold


@transaction.atomic
def hold_release(*, hold_id: int, actor: Actor, reason: str) -> OrderHold:
    if not reason.strip():
        raise ValidationFailed("A release needs a reason.", fields={"reason": ["Required."]})
    hold = (
        OrderHold.objects.select_for_update(of=("self",))
        .select_related("hold_code", "order")
        .filter(pk=hold_id)
        .first()
    )
    if hold is None:
        raise NotFound("No such hold.")
    if hold.released_at is not None:
        raise Conflict("The hold was already released.")
    if not _may(actor, hold.hold_code.release_roles):
        raise PermissionDenied(f"You may not release the '{hold.hold_code.code}' hold.")
    hold.released_at = timezone.now()
    hold.released_by = actor.label
    hold.released_by_user = actor.user
    hold.release_reason = reason.strip()
    hold.save(update_fields=["released_at", "released_by", "released_by_user", "release_reason"])
    event_record(
        hold.order,
        actor,
        EventKind.HOLD_RELEASED,
        before={"hold": hold.hold_code.code, "active": True},
        after={"hold": hold.hold_code.code, "active": False},
        reason=hold.release_reason,
    )
    return hold


def credit_holds_recheck(*, customer_id: int) -> list[OrderHold]:
    """Release the system credit holds of a customer's orders that now fit under the limit
    (oldest first; each release takes its amount out of the headroom)."""
    from customers.selectors import credit_position

    position = credit_position(customer_id=customer_id)
    headroom = position.credit_limit - position.exposure
    released = []
    holds = (
        OrderHold.objects.select_related("order")
        .filter(order__customer_id=customer_id, hold_code__code=CREDIT_HOLD, released_at__isnull=True)
        .order_by("order_id")
    )
    # Exposure already counts every held order: the limit is met once the total fits.
    if headroom >= 0:
        for hold in holds:
            released.append(
                hold_release(
                    hold_id=hold.pk, actor=Actor.system(), reason="Credit exposure is within the limit."
                )
            )
    return released


def compliance_holds_recheck() -> list[OrderHold]:
    """Screen the orders on a system compliance hold again (after a list entry was corrected or
    lifted) and release the holds whose cause has cleared."""
    from ..models import ChannelOrderPolicy
    from .capture import screen_order

    released = []
    holds = (
        OrderHold.objects.select_related("order__customer", "order__channel", "hold_code")
        .filter(hold_code__code=COMPLIANCE_HOLD, released_at__isnull=True, order__is_current=True)
        .order_by("order_id")
    )
    policies = dict(ChannelOrderPolicy.objects.values_list("channel_id", "restricted_party_policy"))
    for hold in holds:
        result = screen_order(hold.order, policies.get(hold.order.channel_id, "hold"))
        if not result.hit:
            released.append(
                hold_release(
                    hold_id=hold.pk,
                    actor=Actor.system(),
                    reason="Screened again: no restricted party or embargo.",
                )
            )
    return released

"""Approvals and cancellations: lock the row, check the transition table, audit, publish."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from customers.services import credit_exposure_adjust
from oms.kernel import events
from oms.kernel.exceptions import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from oms.kernel.roles import Role

from ..actors import Actor
from ..audit import event_record
from ..models import EventKind, OrderLine, SalesOrder
from ..states import (
    OPEN_FOR_CREDIT,
    LineStatus,
    OrderStatus,
    ensure_line_transition,
    ensure_order_transition,
)
from .holds import credit_holds_recheck
from .revisions import release_stock_for


def _locked(order_id: int) -> SalesOrder:
    order = SalesOrder.objects.select_for_update(of=("self",)).filter(pk=order_id, is_current=True).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def _need_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise ValidationFailed("A reason is required.", fields={"reason": ["Required."]})
    return reason.strip()


def _set_status(order: SalesOrder, target: str) -> str:
    ensure_order_transition(order.status, target)
    before = order.status
    order.status = target
    order.version += 1
    order.save(update_fields=["status", "version", "updated_at"])
    return before


def _ensure_approver(actor: Actor) -> None:
    if not actor.has_role(Role.APPROVER):
        raise PermissionDenied("Only an approver may decide on an order.")


@transaction.atomic
def order_approve(*, order_id: int, actor: Actor, reason: str = "") -> SalesOrder:
    _ensure_approver(actor)
    order = _locked(order_id)
    before = _set_status(order, OrderStatus.OPEN)
    order.lines.filter(status=LineStatus.PENDING_APPROVAL).update(status=LineStatus.OPEN)
    event_record(
        order,
        actor,
        EventKind.APPROVED,
        before={"status": before},
        after={"status": order.status},
        reason=reason.strip(),
        data={"approval_reasons": order.approval_reasons},
    )
    events.publish(
        "order.approved",
        {"order_id": order.pk, "number": order.number, "channel": order.channel.code},
        aggregate=("order", order.number),
    )
    return order


@transaction.atomic
def order_reject(*, order_id: int, actor: Actor, reason: str) -> SalesOrder:
    _ensure_approver(actor)
    reason = _need_reason(reason)
    order = _locked(order_id)
    if order.status != OrderStatus.PENDING_APPROVAL:
        raise IllegalTransition(
            order.status, OrderStatus.CANCELED, message="Only an order pending approval can be rejected."
        )
    _cancel(order, actor, reason, kind=EventKind.REJECTED)
    return order


def _cancel(order: SalesOrder, actor: Actor, reason: str, *, kind: str) -> None:
    if order.lines.filter(shipped_quantity__gt=0).exists():
        raise Conflict("Part of the order has shipped; cancel the open lines instead.")
    was_open_for_credit = order.status in OPEN_FOR_CREDIT
    before = _set_status(order, OrderStatus.CANCELED)
    order.lines.exclude(status=LineStatus.CANCELED).update(status=LineStatus.CANCELED)
    release_stock_for(order)
    event_record(order, actor, kind, before={"status": before}, after={"status": order.status}, reason=reason)
    events.publish(
        "order.canceled",
        {"order_id": order.pk, "number": order.number, "channel": order.channel.code, "reason": reason},
        aggregate=("order", order.number),
    )
    if was_open_for_credit and order.credit_amount:
        credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=-order.credit_amount)
        credit_holds_recheck(customer_id=order.customer_id)


@transaction.atomic
def order_cancel(*, order_id: int, actor: Actor, reason: str) -> SalesOrder:
    reason = _need_reason(reason)
    order = _locked(order_id)
    _cancel(order, actor, reason, kind=EventKind.CANCELED)
    return order


@transaction.atomic
def line_cancel(*, order_id: int, line_id: int, actor: Actor, reason: str) -> OrderLine:
    reason = _need_reason(reason)
    order = _locked(order_id)
    line = OrderLine.objects.select_for_update(of=("self",)).filter(pk=line_id, order=order).first()
    if line is None:
        raise NotFound("No such line.")
    if line.shipped_quantity > 0:
        raise Conflict(f"Line {line.line_number} has shipped {line.shipped_quantity}; it cannot be canceled.")
    ensure_line_transition(line.status, LineStatus.CANCELED)
    before = line.status
    line.status = LineStatus.CANCELED
    line.save(update_fields=["status"])
    from inventory.models import Reservation
    from inventory.services import reservation_release
    from inventory.states import ReservationStatus

    active = list(
        Reservation.objects.filter(
            demand_type="order_line", demand_id=str(line.pk), status=ReservationStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    if active:
        reservation_release(reservation_ids=active)
    share = Decimal(0)
    if order.total and order.credit_amount:
        share = (order.credit_amount * line.line_total / order.total).quantize(Decimal("0.0001"))
    event_record(
        order,
        actor,
        EventKind.LINE_CANCELED,
        line=line,
        before={"status": before},
        after={"status": line.status},
        reason=reason,
    )
    if not order.lines.exclude(status=LineStatus.CANCELED).exists():
        _set_status(order, OrderStatus.CANCELED)
    events.publish(
        "order.line_canceled",
        {
            "order_id": order.pk,
            "number": order.number,
            "line": line.line_number,
            "reason": reason,
            "at": timezone.now().isoformat(),
        },
        aggregate=("order", order.number),
    )
    if share and order.status in OPEN_FOR_CREDIT | {OrderStatus.CANCELED}:
        credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=-share)
        SalesOrder.objects.filter(pk=order.pk).update(credit_amount=order.credit_amount - share)
    return line

"""Change management: a revision or a cancellation reaches running processes.

For each affected process: CHANGE_PENDING; each step that ran (or is running/waiting) and that
the change touches applies its compensation pattern: UPDATE adjusts in place, CANCEL undoes it
for good, REDO undoes it and every later step that ran (newest first), and the process resumes
at the earliest REDO step. Every compensation writes a fulfillment event. Shipped and billed
quantities never come here: capture refuses revisions below them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders.models import OrderLine, SalesOrder

from ..audit import fevent, fl_set_status
from ..models import FulfillmentLine, ProcessInstance, StepInstance
from ..states import (
    FL_OPEN,
    FL_SHIPPED_OR_LATER,
    Compensation,
    FulfillmentLineStatus,
    ProcessStatus,
    StepStatus,
)
from ..steps import QUANTITY, RESERVATION_LOST, SHIP_TO, StepContext, step_type
from .engine import advance, process_set, replan, step_set
from .lines import order_fulfillment_start
from .planning import order_replan

STARTED = (StepStatus.COMPLETED, StepStatus.RUNNING, StepStatus.WAITING, StepStatus.HELD, StepStatus.FAILED)


def _ctx(process: ProcessInstance, step: StepInstance, line: FulfillmentLine, now) -> StepContext:
    return StepContext(step=step, definition=step.step_definition, process=process, line=line, now=now)


def process_compensate(
    *, process: ProcessInstance, line: FulfillmentLine, kinds: set[str], reason: str
) -> int | None:
    """Apply the compensation patterns for a change of `kinds`; return the resume sequence."""
    now = timezone.now()
    if process.status in (ProcessStatus.COMPLETED, ProcessStatus.CANCELED):
        return None
    process_set(process, ProcessStatus.CHANGE_PENDING, reason=reason)
    steps = list(
        process.steps.select_for_update(of=("self",)).select_related("step_definition").order_by("sequence")
    )
    started = [s for s in steps if s.status in STARTED]
    affected = [s for s in started if kinds & step_type(s.task_type).affected_by]
    redo = [s.sequence for s in affected if s.step_definition.compensation == Compensation.REDO]
    resume = min(redo) if redo else None
    for s in affected:
        if resume is not None and s.sequence >= resume:
            continue
        st, pattern = step_type(s.task_type), s.step_definition.compensation
        if pattern == Compensation.UPDATE and st.update:
            st.update(_ctx(process, s, line, now))
            fevent("compensation_update", line=line, process=process, step=s, data={"kinds": sorted(kinds)})
        elif pattern == Compensation.CANCEL and st.undo:
            st.undo(_ctx(process, s, line, now))
            step_set(s, StepStatus.CANCELED, actual_end=now)
            fevent("compensation_cancel", line=line, process=process, step=s, data={"kinds": sorted(kinds)})
    if resume is not None:
        for s in reversed([s for s in steps if s.sequence >= resume]):
            if s.status in STARTED:
                st = step_type(s.task_type)
                if st.undo:
                    st.undo(_ctx(process, s, line, now))
                fevent(
                    "compensation_redo",
                    line=line,
                    process=process,
                    step=s,
                    before={"status": s.status},
                    data={"kinds": sorted(kinds)},
                )
            if s.status != StepStatus.PENDING and s.status != StepStatus.CANCELED:
                s.generation += 1
                step_set(
                    s,
                    StepStatus.PENDING,
                    attempts=0,
                    wake_at=None,
                    awaited_event="",
                    dispatched_at=None,
                    next_attempt_at=None,
                    actual_start=None,
                    actual_end=None,
                    last_error="",
                )
    process_set(process, ProcessStatus.RUNNING, reason="change applied")
    if resume is not None:
        advance(process, line, after_sequence=resume - 1, now=now)
    replan(process, line, now=now)
    return resume


def line_cancel_compensate(
    *, process: ProcessInstance, line: FulfillmentLine, actor: str, reason: str
) -> None:
    """Undo every step that ran, newest first, and cancel the process and the line."""
    now = timezone.now()
    if process.status in (ProcessStatus.COMPLETED, ProcessStatus.CANCELED) or line.status not in FL_OPEN:
        return
    if line.status in FL_SHIPPED_OR_LATER:
        return
    process_set(process, ProcessStatus.CHANGE_PENDING, actor=actor, reason=reason)
    for s in (
        process.steps.select_for_update(of=("self",)).select_related("step_definition").order_by("-sequence")
    ):
        if s.status in STARTED:
            st = step_type(s.task_type)
            if st.undo:
                st.undo(_ctx(process, s, line, now))
            fevent(
                "compensation_cancel",
                line=line,
                process=process,
                step=s,
                actor=actor,
                data={"reason": reason},
            )
        if s.status != StepStatus.CANCELED:
            step_set(s, StepStatus.CANCELED)
    fl_set_status(line, FulfillmentLineStatus.CANCELED, reason=reason)
    process_set(process, ProcessStatus.CANCELED, actor=actor, reason=reason)


def _lock(line_id: int) -> tuple[ProcessInstance, FulfillmentLine]:
    process = ProcessInstance.objects.select_for_update(of=("self",)).get(fulfillment_line_id=line_id)
    line = (
        FulfillmentLine.objects.select_for_update(of=("self",))
        .select_related("order", "order__channel", "order_line")
        .get(pk=line_id)
    )
    return process, line


@transaction.atomic
def order_revision_apply(*, order_id: int, diff: dict[str, Any]) -> list[int]:
    """Follow an order to its new revision: re-point its fulfillment lines, resize, reschedule
    or cancel them as the diff says, and start processes for added lines."""
    order = SalesOrder.objects.select_related("channel").filter(pk=order_id).first()
    if order is None or not order.is_current:
        return []
    previous = SalesOrder.objects.filter(number=order.number, revision=diff.get("from_revision")).first()
    order_ship_to_changed = previous is not None and previous.ship_to != order.ship_to
    changes = {c["source_line_id"]: c["changes"] for c in diff.get("changed", [])}
    new_lines: dict[str, OrderLine] = {line.source_line_id: line for line in order.lines.all()}
    touched: list[int] = []
    by_source: dict[str, list[int]] = {}
    for fl_id, sid in (
        FulfillmentLine.objects.filter(order_number=order.number)
        .order_by("pk")
        .values_list("pk", "source_line_id")
    ):
        by_source.setdefault(sid, []).append(fl_id)
    for sid, fl_ids in by_source.items():
        new_line = new_lines.get(sid)
        if new_line is None:
            for fl_id in fl_ids:
                process, line = _lock(fl_id)
                line_cancel_compensate(
                    process=process,
                    line=line,
                    actor="system",
                    reason=f"line {sid} removed in revision {order.revision}",
                )
                touched.append(fl_id)
            continue
        FulfillmentLine.objects.filter(pk__in=fl_ids).update(order=order, order_line=new_line)
        line_changes = changes.get(sid, {})
        kinds: set[str] = set()
        if order_ship_to_changed or "ship_to" in line_changes or "requested_ship_date" in line_changes:
            kinds.add(SHIP_TO)
        quantity_changed = "quantity" in line_changes
        open_ids = list(
            FulfillmentLine.objects.filter(pk__in=fl_ids)
            .exclude(status__in=[*FL_SHIPPED_OR_LATER, FulfillmentLineStatus.CANCELED])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if quantity_changed:
            done = sum(
                FulfillmentLine.objects.filter(pk__in=fl_ids, status__in=FL_SHIPPED_OR_LATER).values_list(
                    "quantity", flat=True
                ),
                Decimal(0),
            )
            room = new_line.quantity - done
            # Earlier slices keep their quantity while it fits; the last ones shrink or go.
            for fl_id in open_ids:
                process, line = _lock(fl_id)
                want = line.quantity if fl_id != open_ids[-1] else room
                want = min(want, room)
                if want <= 0:
                    line_cancel_compensate(
                        process=process,
                        line=line,
                        actor="system",
                        reason=f"quantity lowered in revision {order.revision}",
                    )
                else:
                    if want != line.quantity:
                        fevent(
                            "quantity_changed",
                            line=line,
                            process=process,
                            before={"quantity": str(line.quantity)},
                            after={"quantity": str(want)},
                            data={"revision": order.revision},
                        )
                        line.quantity = want
                        line.save()
                        process_compensate(
                            process=process,
                            line=line,
                            kinds=kinds | {QUANTITY},
                            reason=f"revision {order.revision}",
                        )
                    elif kinds:
                        process_compensate(
                            process=process, line=line, kinds=kinds, reason=f"revision {order.revision}"
                        )
                room -= max(want, Decimal(0))
                touched.append(fl_id)
            if room > 0 and not open_ids:
                _extra_line(order, new_line, room)
            continue
        for fl_id in open_ids:
            process, line = _lock(fl_id)
            line_kinds = set(kinds)
            if line.reservation_id and line.reservation.status != "active":
                line_kinds.add(RESERVATION_LOST)  # capture gave back what it had reserved
            if line_kinds:
                process_compensate(
                    process=process, line=line, kinds=line_kinds, reason=f"revision {order.revision}"
                )
                touched.append(fl_id)
    order_fulfillment_start(order_id=order.pk)
    # A revision may move the requested delivery date: every open line's required dates follow.
    order_replan(order_number=order.number)
    return touched


def _extra_line(order: SalesOrder, line: OrderLine, quantity: Decimal) -> None:
    """A line raised after all its slices shipped: the increase gets its own slice."""
    from ..sourcing import initial_mode
    from .assignment import process_for
    from .engine import process_start

    mode = initial_mode(product_id=line.product_id)
    fl = FulfillmentLine.objects.create(
        order=order,
        order_line=line,
        order_number=order.number,
        source_line_id=line.source_line_id,
        product_id=line.product_id,
        quantity=quantity,
        mode=mode,
    )
    process_start(line=fl, definition=process_for(order=order, line=line, mode=mode))


@transaction.atomic
def order_cancel_apply(
    *, order_number: str, source_line_id: str | None = None, reason: str = ""
) -> list[int]:
    qs = FulfillmentLine.objects.filter(order_number=order_number).exclude(
        status__in=[FulfillmentLineStatus.CLOSED, FulfillmentLineStatus.CANCELED]
    )
    if source_line_id is not None:
        qs = qs.filter(source_line_id=source_line_id)
    done = []
    for fl_id in qs.order_by("pk").values_list("pk", flat=True):
        process, line = _lock(fl_id)
        line_cancel_compensate(process=process, line=line, actor="system", reason=reason or "order canceled")
        done.append(fl_id)
    return done

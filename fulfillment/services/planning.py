"""Planning: planned start/end of every remaining step forward (from the actual end of the last
completed step, or now), and the required end of every step backward from the line's required
date, over the warehouse's business calendar (fulfillment.calendar).

The line's required date is the order's requested delivery date, else the line's promised
date, each minus OMS_PLANNING_TRANSIT_DAYS, else the line's requested (or scheduled) ship date.
The goods must leave by that day's cut-off (the end of the last working day on or before it):
that is the required end of the ship step (WAIT_FOR_SHIPMENT, else the last goods step); the
steps before it are required backward from there, the steps after it forward.

A replan touches only steps not yet completed: completed steps keep their dates. The process
row keeps the plan's end and the running step's planned end, so the jeopardy scan can push the
expected end by the time that step overruns in one set-based statement (no calendar in SQL);
every replan marks the process for the next incremental scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oms.kernel.exceptions import NotFound

from ..calendar import BusinessCalendar
from ..models import FulfillmentLine, Holiday, ProcessInstance, StepInstance
from ..states import GOODS_STEPS, SHIP_STEPS, ProcessStatus, StepStatus

_DONE = frozenset({StepStatus.COMPLETED})
_OFF_PLAN = frozenset({StepStatus.SKIPPED, StepStatus.CANCELED})
_ACTIVE = frozenset({StepStatus.RUNNING, StepStatus.WAITING, StepStatus.HELD, StepStatus.FAILED})
OPEN_PROCESS = (ProcessStatus.RUNNING, ProcessStatus.CHANGE_PENDING, ProcessStatus.NEEDS_ATTENTION)


def calendar_for_warehouse(warehouse, *, around: date | None = None) -> BusinessCalendar:
    """The warehouse's calendar (working days, cut-off, its holidays and the global ones); the
    default Monday-Friday calendar when the line has no warehouse yet."""
    around = around or timezone.localdate()
    holidays = Holiday.objects.filter(
        date__gte=around - timedelta(days=400), date__lte=around + timedelta(days=400)
    )
    if warehouse is None:
        holidays = holidays.filter(warehouse__isnull=True)
        return BusinessCalendar(holidays=frozenset(holidays.values_list("date", flat=True)))
    holidays = holidays.filter(Q(warehouse__isnull=True) | Q(warehouse_id=warehouse.pk))
    return BusinessCalendar.from_string(
        warehouse.working_days,
        holidays=holidays.values_list("date", flat=True),
        cutoff=warehouse.shipping_cutoff,
    )


def line_required_date(line: FulfillmentLine) -> date | None:
    """The day the goods must leave (before the calendar moves it to a working day)."""
    transit = timedelta(days=settings.OMS_PLANNING_TRANSIT_DAYS)
    if line.order.requested_delivery_date:
        return line.order.requested_delivery_date - transit
    if line.promised_date:
        return line.promised_date - transit
    if line.order_line.requested_ship_date:
        return line.order_line.requested_ship_date
    return line.scheduled_ship_date


def line_required_ship_by(line: FulfillmentLine, calendar: BusinessCalendar | None = None) -> datetime | None:
    day = line_required_date(line)
    if day is None:
        return None
    calendar = calendar or calendar_for_warehouse(line.warehouse)
    return calendar.ship_by(day)


@dataclass(frozen=True)
class StepPlan:
    sequence: int
    planned_start: datetime | None
    planned_end: datetime | None
    required_end: datetime | None


@dataclass(frozen=True)
class Plan:
    steps: list[StepPlan]
    required_ship_by: datetime | None
    required_end: datetime | None
    expected_end: datetime | None
    current_sequence: int | None
    current_due: datetime | None


def _on_branch(step: StepInstance, line: FulfillmentLine) -> bool:
    branch = step.step_definition.branch
    return not branch or branch == line.mode


def plan_compute(
    steps: list[StepInstance], line: FulfillmentLine, *, calendar: BusinessCalendar, now: datetime
) -> Plan:
    """The plan, computed without writing: `steps` in sequence order with their definitions."""
    plan_steps = [s for s in steps if s.status not in _OFF_PLAN and _on_branch(s, line)]
    lead = {s.sequence: s.step_definition.lead_time_hours for s in plan_steps}
    # Forward: completed steps keep their dates; the cursor starts at the last actual end.
    planned: dict[int, tuple[datetime | None, datetime | None]] = {}
    cursor = None
    current = None
    for s in plan_steps:
        if s.status in _DONE:
            planned[s.sequence] = (s.planned_start, s.planned_end)
            cursor = s.actual_end or cursor
            continue
        start = s.actual_start if (s.status in _ACTIVE and s.actual_start) else (cursor or now)
        if s.task_type in SHIP_STEPS and not (s.status in _ACTIVE and s.actual_start):
            start = calendar.ship_start(start)
        end = calendar.add(start, lead[s.sequence])
        if current is None:
            current = s
            if s.status in _ACTIVE and end < now:
                end = now  # overrunning: it cannot end before now
        planned[s.sequence] = (start, end)
        cursor = end
    # Backward from the ship-by moment at the anchor step, forward after it.
    ship_by = line_required_ship_by(line, calendar)
    required: dict[int, datetime | None] = {s.sequence: None for s in plan_steps}
    if ship_by is not None and plan_steps:
        anchor = next(
            (i for i in range(len(plan_steps) - 1, -1, -1) if plan_steps[i].task_type in SHIP_STEPS),
            None,
        )
        if anchor is None:
            anchor = next(
                (i for i in range(len(plan_steps) - 1, -1, -1) if plan_steps[i].task_type in GOODS_STEPS),
                len(plan_steps) - 1,
            )
        required[plan_steps[anchor].sequence] = ship_by
        for i in range(anchor - 1, -1, -1):
            after = plan_steps[i + 1]
            required[plan_steps[i].sequence] = calendar.subtract(
                required[after.sequence], lead[after.sequence]
            )
        for i in range(anchor + 1, len(plan_steps)):
            required[plan_steps[i].sequence] = calendar.add(
                required[plan_steps[i - 1].sequence], lead[plan_steps[i].sequence]
            )
    out = [
        StepPlan(s.sequence, planned[s.sequence][0], planned[s.sequence][1], required[s.sequence])
        for s in plan_steps
    ]
    last = out[-1] if out else None
    return Plan(
        steps=out,
        required_ship_by=ship_by,
        required_end=last.required_end if last else None,
        expected_end=last.planned_end if last else None,
        current_sequence=current.sequence if current else None,
        current_due=planned[current.sequence][1] if current else None,
    )


def _delay_hours(expected: datetime | None, required: datetime | None) -> Decimal | None:
    if expected is None or required is None:
        return None
    seconds = Decimal((expected - required).total_seconds())
    return (seconds / Decimal(3600)).quantize(Decimal("0.01"))


def process_replan(process: ProcessInstance, line: FulfillmentLine, *, now: datetime | None = None) -> Plan:
    """Replan a process whose row the caller has locked (or just created). Writes the planned
    and required dates of its steps that are not completed and the process's plan figures."""
    now = now or timezone.now()
    steps = list(process.steps.select_related("step_definition").order_by("sequence"))
    calendar = calendar_for_warehouse(line.warehouse, around=now.date())
    plan = plan_compute(steps, line, calendar=calendar, now=now)
    by_seq = {p.sequence: p for p in plan.steps}
    changed = []
    current_step = None
    for s in steps:
        p = by_seq.get(s.sequence)
        if p is None:
            continue
        if s.sequence == plan.current_sequence:
            current_step = s
        fields = {"required_end": p.required_end}
        if s.status not in _DONE:
            fields |= {"planned_start": p.planned_start, "planned_end": p.planned_end}
            fields["jeopardy_delay_hours"] = _delay_hours(p.planned_end, p.required_end)
        if any(getattr(s, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(s, k, v)
            changed.append(s)
    if changed:
        StepInstance.objects.bulk_update(
            changed, ["planned_start", "planned_end", "required_end", "jeopardy_delay_hours"]
        )
    process.required_ship_by = plan.required_ship_by
    process.required_end = plan.required_end
    process.plan_end = plan.expected_end
    process.expected_end = plan.expected_end
    process.current_step = current_step
    process.current_step_due = plan.current_due
    process.planned_at = now
    process.jeopardy_dirty = True
    ProcessInstance.objects.filter(pk=process.pk).update(
        required_ship_by=process.required_ship_by,
        required_end=process.required_end,
        plan_end=process.plan_end,
        expected_end=process.expected_end,
        current_step=current_step,
        current_step_due=process.current_step_due,
        planned_at=now,
        jeopardy_dirty=True,
    )
    return plan


@transaction.atomic
def process_plan(*, process_id: int, now: datetime | None = None) -> ProcessInstance:
    """Lock a process and replan it (staff "replan", tests, and the hooks that do not hold the
    lock already)."""
    process = ProcessInstance.objects.select_for_update(of=("self",)).filter(pk=process_id).first()
    if process is None:
        raise NotFound("No such process.")
    line = FulfillmentLine.objects.select_related("order", "order_line", "warehouse").get(
        pk=process.fulfillment_line_id
    )
    process_replan(process, line, now=now)
    return process


def line_replan(*, line_id: int, now: datetime | None = None) -> ProcessInstance | None:
    """Replan the open process of a fulfillment line, if it has one."""
    process_id = (
        ProcessInstance.objects.filter(fulfillment_line_id=line_id, status__in=OPEN_PROCESS)
        .values_list("pk", flat=True)
        .first()
    )
    return process_plan(process_id=process_id, now=now) if process_id else None


def line_expected_completion(*, line_id: int) -> datetime | None:
    """The expected completion of a fulfillment line: the planned end of its last step, pushed
    by the overrun the last scan saw (None before its first plan)."""
    return (
        ProcessInstance.objects.filter(fulfillment_line_id=line_id)
        .values_list("expected_end", flat=True)
        .first()
    )


def order_replan(*, order_number: str, now: datetime | None = None) -> int:
    """Replan every open process of an order (its requested delivery date changed). One lock per
    process, in primary-key order, as the engine takes them."""
    now = now or timezone.now()
    ids = list(
        ProcessInstance.objects.filter(fulfillment_line__order_number=order_number, status__in=OPEN_PROCESS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for process_id in ids:
        process_plan(process_id=process_id, now=now)
    return len(ids)

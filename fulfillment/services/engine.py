"""The orchestration engine: start a process, run a step, advance, wait, wake, sweep, and the
staff actions (retry, skip, cancel).

A step runs in ONE transaction that locks its process and step rows, checks the step is still
due, performs the side effect and marks the step done. A crash anywhere rolls all of it back, and
a redelivered or duplicated task finds the step no longer due: nothing happens twice. Side
effects also carry the step run's key (`StepInstance.side_effect_key`) under a unique constraint.
Tasks are sent after commit; a lost one is found by the sweeper (`steps_sweep`, on beat).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from oms.kernel import dbretry, events
from oms.kernel.context import correlation
from oms.kernel.exceptions import NotFound
from orders.models import OrderHold
from orders.states import HoldScope

from ..audit import fevent
from ..models import FulfillmentLine, ProcessDefinition, ProcessInstance, StepInstance
from ..states import PROCESS_TRANSITIONS, STEP_TRANSITIONS, ProcessStatus, StepStatus, ensure_transition
from ..steps import Done, StepContext, Wait, step_type

log = logging.getLogger(__name__)


# --- dispatch -------------------------------------------------------------------------------


def _send(step_ids: list[int]) -> None:
    from ..tasks import step_run

    for step_id in step_ids:
        try:
            step_run.apply_async(args=[step_id], retry=False)
        except Exception as exc:  # the broker is down: the sweeper re-sends
            log.warning("step %s dispatch failed, the sweeper will re-send: %s", step_id, exc)
            return


def dispatch_after_commit(step_ids: list[int]) -> None:
    if step_ids:
        ids = list(step_ids)
        transaction.on_commit(lambda: _send(ids), robust=True)


# --- transitions ----------------------------------------------------------------------------


def step_set(step: StepInstance, target: str, **fields) -> None:
    ensure_transition(STEP_TRANSITIONS, step.status, target)
    step.status = target
    for name, value in fields.items():
        setattr(step, name, value)
    step.save()


def process_set(process: ProcessInstance, target: str, *, actor: str = "system", reason: str = "") -> None:
    if process.status == target:
        return
    ensure_transition(PROCESS_TRANSITIONS, process.status, target)
    before = process.status
    process.status = target
    if target in (ProcessStatus.COMPLETED, ProcessStatus.CANCELED):
        process.completed_at = timezone.now()
    process.save()
    fevent(
        "process_status",
        line=process.fulfillment_line,
        process=process,
        actor=actor,
        before={"status": before},
        after={"status": target},
        data={"reason": reason} if reason else None,
    )
    if target in (ProcessStatus.COMPLETED, ProcessStatus.CANCELED):
        _alerts_close(process, actor=actor)


def _alerts_close(process: ProcessInstance, *, actor: str) -> None:
    """A process that ended takes its unresolved jeopardy alert with it (resolution `closed`)."""
    from ..models import JeopardyAlert
    from ..states import AlertResolution, JeopardyAlertStatus

    now = timezone.now()
    for alert in JeopardyAlert.objects.filter(
        process=process, status__in=[JeopardyAlertStatus.OPEN, JeopardyAlertStatus.ACKNOWLEDGED]
    ):
        before = alert.status
        alert.status, alert.resolution, alert.resolved_at = (
            JeopardyAlertStatus.RESOLVED,
            AlertResolution.CLOSED,
            now,
        )
        alert.save(update_fields=["status", "resolution", "resolved_at", "updated_at"])
        fevent(
            "alert_resolved",
            line=process.fulfillment_line,
            process=process,
            actor=actor,
            before={"status": before},
            after={"status": alert.status, "resolution": alert.resolution},
            data={"alert": alert.pk, "priority": alert.priority, "score": alert.score},
        )


def replan(process: ProcessInstance, line: FulfillmentLine, *, now: datetime) -> None:
    """Replan a locked process that is still open (fulfillment.services.planning)."""
    from .planning import process_replan

    if process.status in (ProcessStatus.COMPLETED, ProcessStatus.CANCELED):
        return
    process_replan(process, line, now=now)


def _run_now(step: StepInstance, now: datetime) -> None:
    """Mark a step due and send its task after commit."""
    step_set(
        step, StepStatus.RUNNING, dispatched_at=now, next_attempt_at=None, wake_at=None, awaited_event=""
    )
    dispatch_after_commit([step.pk])


# --- starting and advancing -----------------------------------------------------------------


def process_start(
    *,
    line: FulfillmentLine,
    definition: ProcessDefinition,
    start_at: int | None = None,
    completed_before: dict[int, StepInstance] | None = None,
) -> ProcessInstance:
    """Plan every step (planned dates from lead times) and start the first due one.

    `start_at`/`completed_before` start a split-off line's process part-way: the steps before
    `start_at` are recorded as done (with the original's dates), as the work was done for both.
    """
    with transaction.atomic():
        now = timezone.now()
        process = ProcessInstance.objects.create(
            fulfillment_line=line, definition=definition, correlation_id=line.order.correlation_id or ""
        )
        cursor = now
        steps = []
        for sd in definition.steps.order_by("sequence"):
            planned_end = cursor + timedelta(hours=sd.lead_time_hours)
            step = StepInstance(
                process=process,
                step_definition=sd,
                sequence=sd.sequence,
                task_type=sd.task_type,
                planned_start=cursor,
                planned_end=planned_end,
            )
            if start_at is not None and sd.sequence < start_at:
                done = (completed_before or {}).get(sd.sequence)
                step.status = (
                    done.status if done and done.status == StepStatus.SKIPPED else StepStatus.COMPLETED
                )
                step.actual_start = done.actual_start if done else now
                step.actual_end = done.actual_end if done else now
            steps.append(step)
            cursor = planned_end
        StepInstance.objects.bulk_create(steps)
        fevent("process_started", line=line, process=process, after={"definition": str(definition)})
        advance(process, line, after_sequence=(start_at - 1) if start_at else 0, now=now)
        replan(process, line, now=now)
        return process


def advance(process: ProcessInstance, line: FulfillmentLine, *, after_sequence: int, now: datetime) -> None:
    """Start the next step on this line's branch; finish the process when none is left."""
    for step in (
        process.steps.select_related("step_definition")
        .filter(sequence__gt=after_sequence)
        .order_by("sequence")
    ):
        if step.status not in (StepStatus.PENDING,):
            continue
        branch = step.step_definition.branch
        if branch and branch != line.mode:
            step_set(step, StepStatus.SKIPPED, actual_start=now, actual_end=now)
            continue
        _run_now(step, now)
        return
    process_set(process, ProcessStatus.COMPLETED)


# --- running a step -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    outcome: str  # completed | waiting | held | not_due | retry | failed
    retry_in: float | None = None


def _blocking_holds(step: StepInstance, line: FulfillmentLine) -> list[str]:
    scope = step_type(step.task_type).hold_scope
    if scope is None:
        return []
    return list(
        OrderHold.objects.filter(order_id=line.order_id, released_at__isnull=True)
        .filter(Q(line__isnull=True) | Q(line_id=line.order_line_id))
        .filter(hold_code__stops__in=[HoldScope.ALL, scope])
        .values_list("hold_code__code", flat=True)
    )


def _lock(step_instance_id: int) -> tuple[ProcessInstance, StepInstance, FulfillmentLine] | None:
    # Lock order everywhere: process, then step, then fulfillment line (docs/development.md,
    # "Locks"). Each lock names its own table: the step's definition and the line's order,
    # channel and order line are read with them, never locked (a lock on the channel row
    # deadlocks with every capture's foreign-key check on it).
    process_id = StepInstance.objects.filter(pk=step_instance_id).values_list("process_id", flat=True).first()
    if process_id is None:
        return None
    process = ProcessInstance.objects.select_for_update(of=("self",)).get(pk=process_id)
    step = (
        StepInstance.objects.select_for_update(of=("self",))
        .select_related("step_definition")
        .get(pk=step_instance_id)
    )
    line = (
        FulfillmentLine.objects.select_for_update(of=("self",))
        .select_related("order", "order__channel", "order_line")
        .get(pk=process.fulfillment_line_id)
    )
    return process, step, line


def step_execute(*, step_instance_id: int) -> StepResult:
    """Run one step if it is due. Safe to call any number of times for the same step."""

    def attempt() -> StepResult:
        with transaction.atomic():
            locked = _lock(step_instance_id)
            if locked is None:
                return StepResult("not_due")
            process, step, line = locked
            with correlation(process.correlation_id or None):
                return _execute_locked(process, step, line)

    try:
        # A deadlock victim wrote nothing: run the step again before counting a failed attempt.
        return dbretry.run(attempt, what="step run")
    except Exception as exc:
        return _record_failure(step_instance_id, exc)


def _execute_locked(process: ProcessInstance, step: StepInstance, line: FulfillmentLine) -> StepResult:
    now = timezone.now()
    if step.status != StepStatus.RUNNING or process.status != ProcessStatus.RUNNING:
        return StepResult("not_due")
    if step.next_attempt_at and step.next_attempt_at > now:
        return StepResult("not_due")
    holds = _blocking_holds(step, line)
    if holds:
        step_set(step, StepStatus.HELD, last_error=f"held by {', '.join(sorted(holds))}")
        fevent("step_held", line=line, process=process, step=step, data={"holds": sorted(holds)})
        replan(process, line, now=now)
        return StepResult("held")
    ctx = StepContext(step=step, definition=step.step_definition, process=process, line=line, now=now)
    if step.actual_start is None:
        step.actual_start = now
    step.attempts += 1
    outcome = step_type(step.task_type).run(ctx)
    if isinstance(outcome, Wait):
        step_set(
            step, StepStatus.WAITING, wake_at=outcome.wake_at, awaited_event=outcome.event, last_error=""
        )
        fevent(
            "step_waiting",
            line=line,
            process=process,
            step=step,
            data={"wake_at": outcome.wake_at.isoformat(), "event": outcome.event},
        )
        return StepResult("waiting")
    assert isinstance(outcome, Done)
    step_set(step, StepStatus.COMPLETED, actual_end=now, last_error="", wake_at=None, awaited_event="")
    fevent(
        "step_completed",
        line=line,
        process=process,
        step=step,
        data={"note": outcome.note} if outcome.note else None,
    )
    process.refresh_from_db()
    if process.status == ProcessStatus.RUNNING:
        advance(process, line, after_sequence=step.sequence, now=now)
    # An early or late completion moves the steps after it (and nothing before).
    replan(process, line, now=now)
    return StepResult("completed")


def _backoff(attempts: int) -> float:
    base = settings.OMS_STEP_RETRY_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, 300.0) * random.uniform(1.0, 1.1)


def _record_failure(step_instance_id: int, exc: Exception) -> StepResult:
    error = f"{type(exc).__name__}: {exc}"[:4000]
    with transaction.atomic():
        locked = _lock(step_instance_id)
        if locked is None:
            return StepResult("not_due")
        process, step, line = locked
        if step.status != StepStatus.RUNNING:
            return StepResult("not_due")
        step.attempts += 1
        step.last_error = error
        if step.attempts >= settings.OMS_STEP_MAX_ATTEMPTS:
            step_set(step, StepStatus.FAILED)
            process_set(process, ProcessStatus.NEEDS_ATTENTION, reason=error)
            fevent(
                "step_failed",
                line=line,
                process=process,
                step=step,
                data={"error": error, "attempts": step.attempts},
            )
            log.error("step %s failed for good after %s attempts: %s", step.pk, step.attempts, error)
            return StepResult("failed")
        delay = _backoff(step.attempts)
        now = timezone.now()
        step_set(step, StepStatus.RUNNING, next_attempt_at=now + timedelta(seconds=delay), dispatched_at=now)
        fevent(
            "step_attempt_failed",
            line=line,
            process=process,
            step=step,
            data={"error": error, "attempts": step.attempts, "retry_in": round(delay, 2)},
        )
        log.warning("step %s attempt %s failed, retry in %.1fs: %s", step.pk, step.attempts, delay, error)
        return StepResult("retry", retry_in=delay)


# --- waking and sweeping --------------------------------------------------------------------


def _claim_ids(qs) -> list[int]:
    qs = qs.order_by("pk")
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs.values_list("pk", flat=True)[: settings.OMS_STEP_SWEEP_BATCH])


@dataclass(frozen=True)
class SweepResult:
    woken: list[int]
    unheld: list[int]
    resent: list[int]

    @property
    def step_ids(self) -> list[int]:
        return [*self.woken, *self.unheld, *self.resent]


def _unblocked(blocking) -> Q:
    """Held steps that no active hold stops any more, per the hold scope of their task type."""
    from ..states import TaskType
    from ..steps import REGISTRY, step_type

    step_type(TaskType.SCHEDULE)  # make sure the registry is filled
    condition = Q(pk__in=[])
    by_scope: dict[str, list[str]] = {}
    for task_type, st in REGISTRY.items():
        if st.hold_scope is not None:
            by_scope.setdefault(st.hold_scope, []).append(task_type)
    for scope, types in by_scope.items():
        stops = [HoldScope.ALL, scope]
        condition |= Q(task_type__in=types) & ~Exists(blocking.filter(hold_code__stops__in=stops))
    return condition


def steps_sweep(*, now: datetime | None = None) -> SweepResult:
    """The beat scan, three set-based statements:
    - waiting steps whose wake-up time has come are made due (PAUSE, and re-checks of WAIT_FOR_*);
    - held steps whose order no longer has a hold that stops them are made due;
    - due steps whose task was sent long ago and never ran (a lost message, a killed worker) are
      re-sent. Rows a worker is running right now are locked and skipped (PostgreSQL).
    Returns the ids it re-sent (after commit)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.OMS_STEP_REDISPATCH_SECONDS)
    live = Q(process__status=ProcessStatus.RUNNING)
    with transaction.atomic():
        woken = _claim_ids(StepInstance.objects.filter(live, status=StepStatus.WAITING, wake_at__lte=now))
        if woken:
            StepInstance.objects.filter(pk__in=woken).update(
                status=StepStatus.RUNNING, dispatched_at=now, next_attempt_at=None, updated_at=now
            )
        blocking = OrderHold.objects.filter(
            order_id=OuterRef("process__fulfillment_line__order_id"), released_at__isnull=True
        ).filter(Q(line__isnull=True) | Q(line_id=OuterRef("process__fulfillment_line__order_line_id")))
        unheld = _claim_ids(
            StepInstance.objects.filter(live, status=StepStatus.HELD).filter(_unblocked(blocking))
        )
        if unheld:
            StepInstance.objects.filter(pk__in=unheld).update(
                status=StepStatus.RUNNING, dispatched_at=now, next_attempt_at=None, updated_at=now
            )
        resent = _claim_ids(
            StepInstance.objects.filter(live, status=StepStatus.RUNNING, dispatched_at__lt=stale)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .exclude(pk__in=woken + unheld)
        )
        if resent:
            StepInstance.objects.filter(pk__in=resent).update(dispatched_at=now, updated_at=now)
        result = SweepResult(woken=woken, unheld=unheld, resent=resent)
        dispatch_after_commit(result.step_ids)
    return result


def step_signal(*, line_id: int, event: str) -> list[int]:
    """An awaited event happened for this line: make its waiting steps due now."""
    with transaction.atomic():
        now = timezone.now()
        woken = []
        for step in StepInstance.objects.select_for_update(of=("self",)).filter(
            process__fulfillment_line_id=line_id, status=StepStatus.WAITING, awaited_event=event
        ):
            _run_now(step, now)
            woken.append(step.pk)
        return woken


# --- staff actions --------------------------------------------------------------------------


def _locked_for_staff(step_id: int) -> tuple[ProcessInstance, StepInstance, FulfillmentLine]:
    locked = _lock(step_id)
    if locked is None:
        raise NotFound("No such step.")
    return locked


def step_retry(*, step_id: int, actor: str) -> StepInstance:
    """A failed (or stuck) step runs again with a fresh attempt count; its process resumes."""
    with transaction.atomic():
        process, step, line = _locked_for_staff(step_id)
        now = timezone.now()
        if process.status == ProcessStatus.NEEDS_ATTENTION:
            process_set(process, ProcessStatus.RUNNING, actor=actor, reason="staff retry")
        step.attempts = 0
        _run_now(step, now)
        fevent("step_retried", line=line, process=process, step=step, actor=actor)
        replan(process, line, now=now)
        return step


def step_skip(*, step_id: int, actor: str) -> StepInstance:
    with transaction.atomic():
        process, step, line = _locked_for_staff(step_id)
        now = timezone.now()
        step_set(step, StepStatus.SKIPPED, actual_end=now)
        fevent("step_skipped", line=line, process=process, step=step, actor=actor)
        if process.status == ProcessStatus.NEEDS_ATTENTION:
            process_set(process, ProcessStatus.RUNNING, actor=actor, reason="staff skipped a failed step")
        advance(process, line, after_sequence=step.sequence, now=now)
        replan(process, line, now=now)
        return step


def process_cancel(*, process_id: int, actor: str, reason: str) -> ProcessInstance:
    with transaction.atomic():
        from .changes import line_cancel_compensate

        process = ProcessInstance.objects.select_for_update(of=("self",)).filter(pk=process_id).first()
        if process is None:
            raise NotFound("No such process.")
        line = (
            FulfillmentLine.objects.select_for_update(of=("self",))
            .select_related("order", "order__channel")
            .get(pk=process.fulfillment_line_id)
        )
        line_cancel_compensate(process=process, line=line, actor=actor, reason=reason)
        return process


def publish_step_topic(topic: str, line: FulfillmentLine, **data) -> None:
    events.publish(
        topic,
        {
            "number": line.order_number,
            "channel": line.order.channel.code,
            "fulfillment_line": line.pk,
            **data,
        },
        aggregate=("order", line.order_number),
    )

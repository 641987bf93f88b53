"""The standard orchestration processes and their assignment rules, and the demo's own pass of
what the workers do (deliver outbox events, run due steps, let time pass, ship), so the demo
history is fulfilled through the real services before the first worker starts."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from fulfillment.models import AssignmentRule, FulfillmentLine, ProcessDefinition, Shipment, StepInstance
from fulfillment.services import step_execute, steps_sweep
from fulfillment.services.shipments import AdviceLine, shipment_advice_record
from fulfillment.states import ProcessStatus, ShipmentStatus, StepStatus
from oms.kernel import events
from partners.models import Partner

from .base import Context


def fulfillment(ctx: Context) -> None:
    """The three standard orchestration processes and their assignment rules (idempotent)."""
    from fulfillment.seeding import processes_seed

    before = ProcessDefinition.objects.count(), AssignmentRule.objects.count()
    made = processes_seed()
    ctx.progress("fulfillment processes", len(made), len(made), ProcessDefinition.objects.count() - before[0])
    rules = AssignmentRule.objects.count()
    ctx.progress("assignment rules", rules, rules, rules - before[1])
    ctx.write(f"    {', '.join(str(d) for d in made.values())}")


# --- what the workers do, in this process, for the demo's own orders --------------------------


def _due_steps(numbers: Iterable[str]) -> list[int]:
    now = timezone.now()
    return list(
        StepInstance.objects.filter(
            status=StepStatus.RUNNING,
            process__status=ProcessStatus.RUNNING,
            process__fulfillment_line__order_number__in=list(numbers),
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def settle(numbers: Iterable[str], *, rounds: int = 12) -> None:
    """Deliver outbox events and run the due steps of these orders until both are quiet (the rest
    is left to the workers)."""
    numbers = set(numbers)
    for _ in range(rounds):
        delivered = events.relay_run().delivered
        steps_sweep(now=timezone.now())
        due = _due_steps(numbers)
        for step_id in due:
            step_execute(step_instance_id=step_id)
        if not delivered and not due:
            return


def time_passes(numbers: Iterable[str]) -> None:
    """What days of waiting do: pauses reach their wake-up time, failed attempts their retry."""
    numbers = list(numbers)
    past = timezone.now() - timezone.timedelta(seconds=1)
    StepInstance.objects.filter(
        process__fulfillment_line__order_number__in=numbers, status=StepStatus.WAITING, task_type="pause"
    ).update(wake_at=past)
    StepInstance.objects.filter(
        process__fulfillment_line__order_number__in=numbers, status=StepStatus.RUNNING, attempts__gt=0
    ).update(next_attempt_at=past)


def ship(number: str, *, fraction: Decimal | None = None) -> int:
    """The warehouse partner confirms each requested shipment of the order (all of it, or the
    given fraction of each line: a partial shipment). Returns the shipments confirmed."""
    partners = {p.external_ref: p for p in Partner.objects.exclude(external_ref="")}
    shipped = 0
    for shipment in Shipment.objects.filter(
        order_number=number, status=ShipmentStatus.REQUESTED
    ).select_related("warehouse"):
        partner = partners.get(shipment.warehouse.code)
        if partner is None:
            continue
        lines = ()
        if fraction is not None:
            lines = tuple(
                AdviceLine(
                    fulfillment_line_id=fl.pk, quantity=max((fl.quantity * fraction).to_integral_value(), 1)
                )
                for fl in FulfillmentLine.objects.filter(shipment_lines__shipment=shipment)
                if fl.quantity > 1
            )
            if not lines:
                continue
        shipment_advice_record(
            partner=partner,
            advice_id=f"demo-{shipment.number}",
            shipment_number=shipment.number,
            lines=lines,
            carrier="UPS",
            service="Ground",
            tracking_number=f"1ZDEMO{shipment.pk:010d}",
        )
        shipped += 1
    return shipped


# --- planning calendar and jeopardy -----------------------------------------------------------

JEOPARDY_DEMO = (
    # (order source id, requested delivery in days from today): late, due, tight, comfortable
    ("DEMO-X-BACKORDER", -1),
    ("DEMO-X-PARTIAL", 1),
    ("DEMO-X-FAILED-STEP", 2),
    ("DEMO-X-MANUAL-HOLD", 3),
)


def jeopardy(ctx: Context) -> None:
    """The default jeopardy policy, the year-end holidays, and some orders in jeopardy: their
    requested delivery dates come closer than their plans, the scan raises alerts, and the
    fulfillment user has acknowledged and taken the worst one."""
    from datetime import date, timedelta

    from django.contrib.auth import get_user_model

    from fulfillment.models import (
        Holiday,
        JeopardyAlert,
        JeopardyPolicy,
        JeopardyPriorityRange,
        JeopardyThreshold,
    )
    from fulfillment.services.jeopardy import alert_acknowledge, alert_assign, jeopardy_scan
    from fulfillment.services.planning import order_replan
    from orders.actors import Actor
    from orders.models import SalesOrder

    policy, created = JeopardyPolicy.objects.get_or_create(name="Default", process_code="", task_type="")
    if created:
        for delay, unit, score in (("0", "hours", 10), ("1", "days", 50), ("3", "days", 90)):
            JeopardyThreshold.objects.create(policy=policy, min_delay=Decimal(delay), unit=unit, score=score)
        for priority, lo, hi in (("on_time", 0, 9), ("low", 10, 49), ("medium", 50, 89), ("high", 90, None)):
            JeopardyPriorityRange.objects.create(policy=policy, priority=priority, min_score=lo, max_score=hi)
    ctx.progress("jeopardy policies", 1, 1, int(created))
    year = timezone.localdate().year
    holidays = [(date(y, 12, 25), "Christmas Day") for y in (year, year + 1)]
    holidays += [(date(y, 1, 1), "New Year's Day") for y in (year + 1, year + 2)]
    made = sum(
        Holiday.objects.get_or_create(date=d, warehouse=None, defaults={"name": n})[1] for d, n in holidays
    )
    ctx.progress("holidays", len(holidays), len(holidays), made)
    today = timezone.localdate()
    moved = 0
    for source_id, days in JEOPARDY_DEMO:
        order = SalesOrder.objects.filter(source_order_id=source_id, is_current=True).first()
        if order is None:
            continue
        wanted = today + timedelta(days=days)
        if order.requested_delivery_date != wanted:
            SalesOrder.objects.filter(pk=order.pk).update(requested_delivery_date=wanted)
            moved += order_replan(order_number=order.number)
    before = JeopardyAlert.objects.count()
    if moved:  # a re-run with nothing replanned leaves the scans to beat
        jeopardy_scan(full=True)
        events.relay_run()  # the webhooks and the digest mail
    alerts = JeopardyAlert.objects.count()
    ctx.progress("jeopardy alerts", alerts, alerts, alerts - before)
    worst = (
        JeopardyAlert.objects.filter(status="open", assigned_to__isnull=True).order_by("-score", "pk").first()
    )
    owner = get_user_model().objects.filter(username="fulfillment").first()
    if moved and worst is not None and owner is not None:
        actor = Actor.for_user(owner)
        alert_acknowledge(alert_id=worst.pk, actor=actor)
        alert_assign(alert_id=worst.pk, actor=actor, assignee_id=owner.pk)
    by_priority = {
        p: JeopardyAlert.objects.filter(status__in=["open", "acknowledged"], priority=p).count()
        for p in ("high", "medium", "low")
    }
    ctx.write(f"    open jeopardy alerts by priority: {by_priority}")

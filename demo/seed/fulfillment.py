"""The standard orchestration processes and their assignment rules, and the demo's own pass of
what the workers do (deliver outbox events, run due steps, let time pass, ship), so the demo
history is fulfilled through the real services before the first worker starts."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from fulfillment.models import (
    AssignmentRule,
    ChangeCostPolicy,
    ChangeCostRule,
    FulfillmentLine,
    ProcessDefinition,
    Shipment,
    StepInstance,
)
from fulfillment.services import step_execute, steps_sweep
from fulfillment.services.shipments import AdviceLine, shipment_advice_record
from fulfillment.states import ChangeCostKind as K
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
    change_costs(ctx)


# The cost-of-change console's starting rules (admin: Fulfillment > Change cost rules): what a
# change undoes downstream, and the what-if alternatives' own costs; over 50 USD a revision waits
# for approval, over 500 USD it is refused.
CHANGE_COST_RULES = [
    ("Warehouse cancels a shipment request", K.SHIPMENT_REQUEST_CANCEL, "25", "5", "0"),
    ("Restocking picked goods", K.RESTOCKING_FEE, "0", "0", "15"),
    ("Supplier change fee", K.PURCHASE_ORDER_CHANGE, "20", "0", "0"),
    ("Supplier cancellation fee", K.PURCHASE_ORDER_CANCEL, "40", "0", "10"),
    ("Lost free shipping", K.LOST_SHIPPING_DISCOUNT, "0", "0", "100"),
    ("Ship from a farther warehouse", K.WAREHOUSE_CHANGE, "5", "1.50", "0"),
    ("A second parcel", K.EXTRA_SHIPMENT, "9.90", "0", "0"),
    ("Express transfer", K.EXPEDITE_TRANSFER, "60", "0", "0"),
    ("Drop-ship handling", K.DROP_SHIP, "12", "0", "3"),
]


def change_costs(ctx: Context) -> None:
    """The cost-of-change rules and the default policy (idempotent: keyed on the rule's name)."""
    before = ChangeCostRule.objects.count()
    for name, kind, fixed, per_unit, percent in CHANGE_COST_RULES:
        ChangeCostRule.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "fixed_amount": Decimal(fixed),
                "per_unit_amount": Decimal(per_unit),
                "percent_of_value": Decimal(percent),
                "currency": "USD",
            },
        )
    ChangeCostPolicy.objects.get_or_create(
        channel=None,
        defaults={
            "approval_threshold": Decimal("50"),
            "refusal_threshold": Decimal("500"),
            "currency": "USD",
        },
    )
    total = ChangeCostRule.objects.count()
    ctx.progress("change cost rules", len(CHANGE_COST_RULES), total, total - before)


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

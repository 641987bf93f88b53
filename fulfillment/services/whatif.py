"""What-if on an open fulfillment line: the alternatives the current sourcing can offer, each
with its expected completion and the extra cost it brings, computed without writing anything;
and applying the one a person chose, through change management.

Alternatives (each has a stable key; quantities are part of it, so a choice made on a screen
that stock has since overtaken no longer matches and is refused as stale):
- `move:<warehouse>`: another of the channel's warehouses has the whole quantity free;
- `split:<A>:<qty>:<B>:<qty>`: the line's warehouse (or the best one) serves what it has, another
  the rest (one extra shipment);
- `expedite:<transfer id>`: a transfer on its way to the line's warehouse with the product is
  expedited (for a line still waiting for stock);
- `drop_ship:<supplier location>`: the supplier ships it (when the product has a drop-ship source
  and a drop-ship process is assigned).

The extra cost is the admin's cost rules (fulfillment.cost_rules): what undoing the current
sourcing costs at its state (a shipment request to cancel, goods to restock, a purchase order to
cancel: the same pricing as a revision's cost of change) plus the alternative's own rule
(`warehouse_change`, `extra_shipment`, `expedite_transfer`, `drop_ship`). The expected
completion is the planning service's plan of the line as the alternative would leave it
(`planning.plan_compute`, over the alternative warehouse's business calendar).

Applying: move and split redo the process from its SCHEDULE step (its compensation pattern must
be REDO: the steps already done are compensated -- reservation released, shipment request
canceled), then reserve exactly the chosen quantities at the chosen warehouses, which the
re-run SCHEDULE adopts. A drop ship cancels the line's process (compensating every step) and
gives the quantity a new slice on the drop-ship process, pinned to the supplier's location.
An expedite moves the transfer's expected arrival. Every apply is audited and replans.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import Reservation, StockPosition, Transfer, Warehouse
from inventory.services import ReserveLine, stock_reserve, transfer_expedite
from inventory.states import ReservationStatus, TransferStatus
from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import round_money
from orders.change_cost import CostItem
from orders.selectors import orders_visible_to

from ..audit import fevent
from ..models import FulfillmentLine, ProcessInstance, ProductSupply, StepInstance
from ..sourcing import ranked_warehouses
from ..states import (
    ChangeCostKind,
    Compensation,
    FulfillmentLineStatus,
    FulfillmentMode,
    ProcessStatus,
    StepStatus,
    TaskType,
)
from .change_cost import Pricer, slice_undo_items
from .planning import calendar_for_warehouse, plan_compute, process_replan

K = ChangeCostKind
DEMAND_TYPE = "fulfillment_line"
WHATIF_STATUSES = frozenset(
    {
        FulfillmentLineStatus.AWAITING_SCHEDULING,
        FulfillmentLineStatus.SCHEDULED,
        FulfillmentLineStatus.RESERVED,
        FulfillmentLineStatus.AWAITING_SHIPPING,
        FulfillmentLineStatus.BACKORDERED,
    }
)
OPEN_PROCESS = (ProcessStatus.RUNNING, ProcessStatus.NEEDS_ATTENTION)
KEY_PATTERNS = {
    "move": re.compile(r"^move:[\w-]+$"),
    "split": re.compile(r"^split:[\w-]+:\d+(\.\d+)?:[\w-]+:\d+(\.\d+)?$"),
    "expedite": re.compile(r"^expedite:\d+$"),
    "drop_ship": re.compile(r"^drop_ship:[\w-]+$"),
}


@dataclass(frozen=True)
class Option:
    key: str
    kind: str  # move | split | expedite | drop_ship
    label: str
    expected_end: datetime | None
    extra_cost: Decimal
    currency: str
    cost_items: tuple[CostItem, ...]
    parts: tuple[tuple[str, Decimal], ...] = ()  # (warehouse code, quantity) it would reserve


@dataclass
class WhatIf:
    line: FulfillmentLine
    currency: str
    current_expected_end: datetime | None
    required_end: datetime | None
    options: list[Option] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if not self.options:
            return (
                "No alternative: the current sourcing is the only one ("
                + ("; ".join(self.notes) or "no other warehouse has the stock")
                + ")."
            )
        if len(self.options) == 1:
            return f"Only one alternative: {self.options[0].label}."
        return f"{len(self.options)} alternatives."

    @property
    def only_option(self) -> bool:
        return len(self.options) == 1


def _q(value: Decimal) -> str:
    return f"{value.normalize():f}"


def whatif_line(*, viewer, line_id: int, number: str | None = None) -> FulfillmentLine:
    """The line (of order `number` when given), scoped like its order: another channel's line
    is a 404."""
    qs = FulfillmentLine.objects.select_related(
        "order", "order_line", "warehouse", "product", "order__channel"
    ).filter(pk=line_id, order__number__in=orders_visible_to(viewer).values("number"))
    if number is not None:
        qs = qs.filter(order_number=number)
    line = qs.first()
    if line is None:
        raise NotFound("No such fulfillment line.")
    return line


def _steps(process: ProcessInstance) -> list[StepInstance]:
    return list(process.steps.select_related("step_definition").order_by("sequence"))


def _redo_from(steps: list[StepInstance], sequence: int) -> list[StepInstance]:
    """The steps as a redo from `sequence` would leave them (copies: nothing is saved)."""
    out = []
    for s in steps:
        if s.sequence >= sequence and s.status != StepStatus.CANCELED:
            s = copy.copy(s)
            s.status, s.actual_start, s.actual_end = StepStatus.PENDING, None, None
        out.append(s)
    return out


def _expected(calendars: dict, steps, line, warehouse, now) -> datetime | None:
    """The expected end of `steps` for `line` at `warehouse` (its business calendar, read once
    per warehouse and listing: the number of queries does not grow with the alternatives)."""
    key = (warehouse.pk if warehouse is not None else None, now.date())
    calendar = calendars.get(key)
    if calendar is None:
        calendar = calendars[key] = calendar_for_warehouse(warehouse, around=now.date())
    return plan_compute(steps, line, calendar=calendar, now=now).expected_end


def _as_line(line: FulfillmentLine, **changes) -> FulfillmentLine:
    other = copy.copy(line)
    for name, value in changes.items():
        setattr(other, name, value)
    return other


def _free(line: FulfillmentLine, warehouses: list[Warehouse]) -> dict[int, Decimal]:
    """Free stock per warehouse; the line's own active reservation counts as free for it."""
    free = dict(
        StockPosition.objects.filter(product_id=line.product_id, warehouse_id__in=[w.pk for w in warehouses])
        .annotate(free=F("on_hand") - F("reserved"))
        .values_list("warehouse_id", "free")
    )
    if line.reservation_id:
        own = (
            Reservation.objects.filter(pk=line.reservation_id, status=ReservationStatus.ACTIVE)
            .values_list("position__warehouse_id", "quantity")
            .first()
        )
        if own:
            free[own[0]] = free.get(own[0], Decimal(0)) + own[1]
    return free


def _schedule_redoable(steps: list[StepInstance]) -> StepInstance | None:
    return next(
        (
            s
            for s in steps
            if s.task_type == TaskType.SCHEDULE and s.step_definition.compensation == Compensation.REDO
        ),
        None,
    )


def whatif_options(*, line: FulfillmentLine, now: datetime | None = None) -> WhatIf:
    """Every alternative for `line` with its expected completion and extra cost. Reads only."""
    now = now or timezone.now()
    calendars: dict = {}  # per warehouse, for this listing
    order = line.order
    currency = order.currency
    process = ProcessInstance.objects.filter(fulfillment_line_id=line.pk).first()
    result = WhatIf(
        line=line,
        currency=currency,
        current_expected_end=process.expected_end if process else None,
        required_end=process.required_end if process else None,
    )
    if process is None or process.status not in OPEN_PROCESS:
        result.notes.append("the line has no running process")
        return result
    if line.status not in WHATIF_STATUSES or line.shipped_quantity:
        result.notes.append(f"the line is {line.get_status_display().lower()}")
        return result
    steps = _steps(process)
    if result.current_expected_end is None:
        result.current_expected_end = _expected(calendars, steps, line, line.warehouse, now)
    pricer = Pricer.load(currency)
    price = line.order_line.unit_net_price
    value = line.quantity * price
    # What undoing the current sourcing costs, at its state (shipment request, picked goods, PO).
    from .change_cost import _open_slices

    with_requests = next(
        (fl for fl in _open_slices(line.order_number).get(line.source_line_id, []) if fl.pk == line.pk), line
    )
    undo = slice_undo_items(pricer, with_requests, units=line.quantity, price=price, goes=True)

    def option(key, kind, label, expected, items, parts=()) -> Option:
        total = round_money(sum((i.amount for i in items), Decimal(0)), currency)
        return Option(key, kind, label, expected, total, currency, tuple(items), tuple(parts))

    schedule = _schedule_redoable(steps)
    ship_to = line.order_line.ship_to or order.ship_to
    ranked = ranked_warehouses(order=order, ship_to=ship_to) if line.mode == FulfillmentMode.WAREHOUSE else []
    free = _free(line, ranked) if ranked else {}
    if ranked and schedule is None:
        result.notes.append("its process cannot redo its scheduling (the Schedule step is not 'redo')")
    elif ranked:
        redo = _redo_from(steps, schedule.sequence)
        qty = line.quantity
        for wh in ranked:
            if wh.pk == line.warehouse_id or free.get(wh.pk, Decimal(0)) < qty:
                continue
            items = undo + pricer.items(
                K.WAREHOUSE_CHANGE,
                units=qty,
                value=value,
                warehouse_id=wh.pk,
                source_line_id=line.source_line_id,
                what=f"ship from {wh.code}",
            )
            expected = _expected(calendars, redo, _as_line(line, warehouse=wh, warehouse_id=wh.pk), wh, now)
            result.options.append(
                option(
                    f"move:{wh.code}",
                    "move",
                    f"Ship all {_q(qty)} from {wh.name}",
                    expected,
                    items,
                    [(wh.code, qty)],
                )
            )
        here = line.warehouse if line.warehouse_id in {w.pk for w in ranked} else None
        if here is None or free.get(here.pk, Decimal(0)) <= 0:
            here = max(ranked, key=lambda w: free.get(w.pk, Decimal(0)))
        have = min(free.get(here.pk, Decimal(0)), qty)
        if 0 < have < qty:
            rest = qty - have
            other = next((w for w in ranked if w.pk != here.pk and free.get(w.pk, Decimal(0)) >= rest), None)
            if other is not None:
                items = undo + pricer.items(
                    K.EXTRA_SHIPMENT,
                    units=rest,
                    value=rest * price,
                    warehouse_id=other.pk,
                    source_line_id=line.source_line_id,
                    what=f"second shipment from {other.code}",
                )
                expected = max(
                    (
                        e
                        for e in (
                            _expected(
                                calendars,
                                redo,
                                _as_line(line, warehouse=here, warehouse_id=here.pk, quantity=have),
                                here,
                                now,
                            ),
                            _expected(
                                calendars,
                                redo,
                                _as_line(line, warehouse=other, warehouse_id=other.pk, quantity=rest),
                                other,
                                now,
                            ),
                        )
                        if e is not None
                    ),
                    default=None,
                )
                result.options.append(
                    option(
                        f"split:{here.code}:{_q(have)}:{other.code}:{_q(rest)}",
                        "split",
                        f"Split: {_q(have)} from {here.name}, {_q(rest)} from {other.name}",
                        expected,
                        items,
                        [(here.code, have), (other.code, rest)],
                    )
                )
    # Expedite a transfer on its way to the line's warehouse (or, for a line not sourced yet, to
    # any of the channel's), for a line still waiting for stock.
    targets = [line.warehouse] if line.warehouse_id else list(ranked)
    if targets and not _holds_reservation(line):
        by_id = {w.pk: w for w in targets}
        for transfer in (
            Transfer.objects.filter(
                to_warehouse_id__in=list(by_id),
                status__in=[TransferStatus.DRAFT, TransferStatus.IN_TRANSIT],
                lines__product_id=line.product_id,
                lines__quantity__gte=line.quantity,
            )
            .select_related("from_warehouse")
            .order_by("expected_arrival", "pk")
        ):
            target = by_id[transfer.to_warehouse_id]
            expedite_to = _expedite_date(target, now)
            if transfer.expected_arrival is not None and transfer.expected_arrival <= expedite_to:
                continue
            arrival = timezone.make_aware(datetime.combine(expedite_to, time(9)))
            items = pricer.items(
                K.EXPEDITE_TRANSFER,
                units=line.quantity,
                value=value,
                warehouse_id=target.pk,
                source_line_id=line.source_line_id,
                reference=transfer.number,
                what=f"expedite {transfer.number}",
            )
            expected = _expected(
                calendars,
                steps,
                _as_line(line, warehouse=target, warehouse_id=target.pk),
                target,
                max(arrival, now),
            )
            result.options.append(
                option(
                    f"expedite:{transfer.pk}",
                    "expedite",
                    f"Expedite {transfer.number} from {transfer.from_warehouse.name} to {target.name}, "
                    f"arriving {expedite_to}",
                    expected,
                    items,
                )
            )
    # Drop ship, when the product has a drop-ship source and a drop-ship process is assigned.
    supply = (
        ProductSupply.objects.filter(product_id=line.product_id, supplier_warehouse__isnull=False)
        .select_related("supplier_warehouse")
        .first()
    )
    if supply is not None and line.mode != FulfillmentMode.DROP_SHIP:
        definition = _drop_ship_definition(line)
        if definition is None:
            result.notes.append("no drop-ship process is assigned to this line")
        else:
            site = supply.supplier_warehouse
            ghost = [
                StepInstance(
                    sequence=sd.sequence,
                    task_type=sd.task_type,
                    step_definition=sd,
                    status=StepStatus.PENDING,
                )
                for sd in definition.steps.order_by("sequence")
            ]
            items = undo + pricer.items(
                K.DROP_SHIP,
                units=line.quantity,
                value=value,
                warehouse_id=site.pk,
                source_line_id=line.source_line_id,
                what=f"drop ship from {site.code}",
            )
            drop_line = _as_line(line, warehouse=site, warehouse_id=site.pk, mode=FulfillmentMode.DROP_SHIP)
            result.options.append(
                option(
                    f"drop_ship:{site.code}",
                    "drop_ship",
                    f"Drop ship all {_q(line.quantity)} from {site.name}",
                    _expected(calendars, ghost, drop_line, site, now),
                    items,
                    [(site.code, line.quantity)],
                )
            )
    return result


def _holds_reservation(line: FulfillmentLine) -> bool:
    return bool(
        line.reservation_id
        and Reservation.objects.filter(pk=line.reservation_id, status=ReservationStatus.ACTIVE).exists()
    )


def _expedite_date(warehouse: Warehouse, now: datetime) -> date:
    calendar = calendar_for_warehouse(warehouse, around=now.date())
    day = now.date()
    for _ in range(settings.OMS_WHATIF_EXPEDITE_WORKING_DAYS):
        day += timedelta(days=1)
        while not calendar.is_working(day):
            day += timedelta(days=1)
    return day


def _drop_ship_definition(line: FulfillmentLine):
    from .assignment import process_for

    try:
        definition = process_for(order=line.order, line=line.order_line, mode=FulfillmentMode.DROP_SHIP)
    except ValidationFailed:
        return None
    has_purchase = definition.steps.filter(task_type=TaskType.CREATE_PURCHASE_REQUEST).exists()
    return definition if has_purchase else None


# --- applying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    option: Option
    line_ids: tuple[int, ...]  # the line and, for a split or a drop ship, the new slice


def _reserve_exactly(line: FulfillmentLine, warehouse: Warehouse, quantity: Decimal):
    return stock_reserve(
        lines=[
            ReserveLine(
                product_id=line.product_id,
                warehouse_id=warehouse.pk,
                quantity=quantity,
                demand_type=DEMAND_TYPE,
                demand_id=str(line.pk),
                demand_class=line.order.demand_class,
                need_date=line.scheduled_ship_date,
            )
        ]
    ).reservations[0]


@transaction.atomic
def whatif_apply(*, viewer, line_id: int, key: str, actor: str) -> Applied:
    """Apply the alternative `key` of the line: 400 for a key that names no kind of alternative,
    409 for one that is no longer offered (stock moved since it was listed)."""
    from .changes import _lock, line_cancel_compensate, process_compensate
    from .engine import process_start
    from .lines import line_split

    if not isinstance(key, str) or not any(p.match(key) for p in KEY_PATTERNS.values()):
        raise ValidationFailed("Unknown what-if option.", fields={"option": [f"'{key}' is not an option."]})
    whatif_line(viewer=viewer, line_id=line_id)  # scoped: another channel's line is a 404
    process, line = _lock(line_id)
    offered = {o.key: o for o in whatif_options(line=line).options}
    chosen = offered.get(key)
    if chosen is None:
        raise Conflict(
            "That alternative is no longer available (stock or the line moved since it was listed): "
            "look at the alternatives again.",
            fields={"option": [f"'{key}' is no longer offered."]},
        )
    reason = f"what-if: {chosen.label}"
    data = {"option": key, "extra_cost": str(chosen.extra_cost), "currency": chosen.currency}
    fevent(
        "whatif_applied",
        line=line,
        process=process,
        actor=actor,
        before={"warehouse": line.warehouse_id, "mode": line.mode, "quantity": str(line.quantity)},
        after={"parts": [[code, str(q)] for code, q in chosen.parts]},
        data=data | {"items": [i.as_dict() for i in chosen.cost_items]},
    )
    warehouses = Warehouse.objects.in_bulk([code for code, _ in chosen.parts], field_name="code")
    ids = [line.pk]
    if chosen.kind in ("move", "split"):
        process_compensate(process=process, line=line, kinds={"resource"}, reason=reason)
        line.refresh_from_db()
        (first_code, first_qty), *rest = chosen.parts
        if rest:
            new = line_split(
                line=line,
                keep=first_qty,
                start_at=_schedule_redoable(_steps(process)).sequence,
                status=FulfillmentLineStatus.AWAITING_SCHEDULING,
                reason=reason,
            )
            other_code, other_qty = rest[0]
            new.reservation = _reserve_exactly(new, warehouses[other_code], other_qty)
            new.warehouse = warehouses[other_code]
            new.save()
            ids.append(new.pk)
            process_replan(new.process, new)
        line.reservation = _reserve_exactly(line, warehouses[first_code], first_qty)
        line.warehouse = warehouses[first_code]
        line.save()
    elif chosen.kind == "drop_ship":
        line_cancel_compensate(process=process, line=line, actor=actor, reason=reason)
        site = warehouses[chosen.parts[0][0]]
        new = FulfillmentLine.objects.create(
            order=line.order,
            order_line=line.order_line,
            order_number=line.order_number,
            source_line_id=line.source_line_id,
            product_id=line.product_id,
            quantity=line.quantity,
            mode=FulfillmentMode.DROP_SHIP,
            warehouse=site,
            source_pinned=True,
            parent=line,
        )
        new_process = process_start(line=new, definition=_drop_ship_definition(line))
        process_replan(new_process, new)
        ids.append(new.pk)
        return Applied(chosen, tuple(ids))
    else:  # expedite
        transfer = Transfer.objects.select_related("to_warehouse").get(pk=int(key.split(":")[1]))
        transfer_expedite(
            transfer_id=transfer.pk,
            expected_arrival=_expedite_date(transfer.to_warehouse, timezone.now()),
            note=f"{reason} for {line.order_number}",
        )
    process.refresh_from_db()
    process_replan(process, line)
    return Applied(chosen, tuple(ids))


__all__ = ["Applied", "Option", "WhatIf", "whatif_apply", "whatif_line", "whatif_options"]

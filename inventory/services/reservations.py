"""Reservations: set stock aside for demand, release it, consume it on shipment, move it.

Many lines reserve in one statement whatever their number (PostgreSQL: `UPDATE ... FROM (VALUES
...)`, after locking the positions in primary-key order so that two orders touching A and B in
opposite orders queue instead of deadlocking). SQLite has no row locks; its IMMEDIATE
transactions serialize writers, so one conditional UPDATE per position in pk order is correct there.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from customers.models import DemandClass
from oms.kernel import fastinsert
from oms.kernel.exceptions import InsufficientStock, ValidationFailed

from ..errors import WarehouseInactive
from ..models import (
    DEMAND_CLASS_RANK,
    Demand,
    MovementKind,
    Reservation,
    StockMovement,
    StockPosition,
    Warehouse,
)
from ..states import RESERVATION_TRANSITIONS, DemandStatus, ReservationStatus, ensure_transition
from ._common import ensure_active_warehouses, is_postgres, positive_quantity, user_or_none


@dataclass(frozen=True)
class ReserveLine:
    product_id: int
    warehouse_id: int
    quantity: Decimal
    demand_type: str
    demand_id: str
    demand_class: str = DemandClass.STANDARD
    need_date: date | None = None


@dataclass(frozen=True)
class Shortfall:
    index: int  # position of the line in the caller's list
    product_id: int
    warehouse_id: int
    requested: Decimal


@dataclass
class ReserveResult:
    reservations: list[Reservation | None] = field(default_factory=list)  # per input line
    shortfalls: list[Shortfall] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.shortfalls


def _lock_positions(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], StockPosition]:
    """One query: the positions of `pairs`, locked in primary-key order on PostgreSQL, each with
    its warehouse's `warehouse_code` and `warehouse_active` (whether it may be reserved from)."""
    if not pairs:
        return {}
    ordered = sorted(pairs)
    params = [value for pair in ordered for value in pair]
    values = ", ".join(["(%s, %s)"] * len(ordered))
    lock = " FOR UPDATE OF p" if is_postgres() else ""
    # Raw SQL: the ORM's OR of one Q per pair and its select_related cost more than the lock.
    qs = StockPosition.objects.raw(
        "SELECT p.id, p.product_id, p.warehouse_id, p.on_hand, p.reserved, p.updated_at,"  # noqa: S608
        " w.code AS warehouse_code, w.active AS warehouse_active"
        f" FROM {StockPosition._meta.db_table} p JOIN {Warehouse._meta.db_table} w ON w.id = p.warehouse_id"
        f" WHERE (p.product_id, p.warehouse_id) IN (VALUES {values}) ORDER BY p.id{lock}",
        params,
    )
    return {(pos.product_id, pos.warehouse_id): pos for pos in qs}


def _reserve_positions(totals: dict[int, Decimal]) -> set[int]:
    """Add `totals[pos_id]` to reserved where enough is available; return the ids that got it."""
    if not totals:
        return set()
    ordered = sorted(totals.items())
    now = timezone.now()
    if connection.vendor == "postgresql":
        values = ", ".join(["(%s::bigint, %s::numeric)"] * len(ordered))
        params: list = [now]
        for pos_id, qty in ordered:
            params += [pos_id, qty]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
UPDATE inventory_stockposition AS p
   SET reserved = p.reserved + v.qty, updated_at = %s
  FROM (VALUES {values}) AS v(id, qty)
 WHERE p.id = v.id AND p.on_hand - p.reserved >= v.qty
RETURNING p.id""",  # noqa: S608 (placeholders only)
                params,
            )
            return {row[0] for row in cursor.fetchall()}
    done = set()
    for pos_id, qty in ordered:
        if StockPosition.objects.filter(pk=pos_id, on_hand__gte=F("reserved") + qty).update(
            reserved=F("reserved") + qty, updated_at=now
        ):
            done.add(pos_id)
    return done


def stock_reserve(*, lines: Sequence[ReserveLine], allow_partial: bool = False) -> ReserveResult:
    """Reserve every line, in a constant number of queries whatever the number of lines.

    All-or-nothing by default: one short line raises `InsufficientStock` and nothing is kept.
    With `allow_partial`, lines that fit are reserved and the others come back as shortfalls
    (a line is reserved whole or not at all; lines on the same position stand or fall together).

    The positions are locked before anything is decided, so what they show is what the UPDATE
    will find: a refusal is known before any write and leaves only the locks behind. That is
    why no savepoint is needed: the refusal is raised outside the block, so a caller's
    transaction stays usable (a capture goes on to back-order, a ranking to the next warehouse).
    """
    if not lines:
        return ReserveResult()
    quantities = [
        positive_quantity(line.quantity, field=f"lines[{i}].quantity") for i, line in enumerate(lines)
    ]
    for i, line in enumerate(lines):
        if not line.demand_type or not str(line.demand_id):
            raise ValidationFailed(
                "Each line needs its demand reference.", fields={f"lines[{i}]": ["demand"]}
            )
    with transaction.atomic(savepoint=False):
        result, refusal = _reserve_locked(lines, quantities, allow_partial)
    if refusal is not None:
        raise refusal
    return result


def _reserve_locked(
    lines: Sequence[ReserveLine], quantities: list[Decimal], allow_partial: bool
) -> tuple[ReserveResult, Exception | None]:
    positions = _lock_positions({(line.product_id, line.warehouse_id) for line in lines})
    inactive = sorted({pos.warehouse_code for pos in positions.values() if not pos.warehouse_active})
    if inactive:
        return ReserveResult(), WarehouseInactive(
            f"Warehouse(s) {', '.join(inactive)} are not active.", fields={"warehouse": inactive}
        )
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line, qty in zip(lines, quantities, strict=True):
        pos = positions.get((line.product_id, line.warehouse_id))
        if pos is not None:
            totals[pos.pk] += qty
    by_id = {pos.pk: pos for pos in positions.values()}
    fits = {pos_id for pos_id, qty in totals.items() if by_id[pos_id].on_hand - by_id[pos_id].reserved >= qty}
    result = ReserveResult()
    to_create: list[Reservation] = []
    for i, (line, qty) in enumerate(zip(lines, quantities, strict=True)):
        pos = positions.get((line.product_id, line.warehouse_id))
        if pos is None or pos.pk not in fits:
            result.shortfalls.append(Shortfall(i, line.product_id, line.warehouse_id, qty))
            result.reservations.append(None)
            continue
        reservation = Reservation(
            position=pos,
            demand_type=line.demand_type,
            demand_id=str(line.demand_id),
            quantity=qty,
            demand_class=line.demand_class,
            need_date=line.need_date,
        )
        result.reservations.append(reservation)
        to_create.append(reservation)
    if result.shortfalls and not allow_partial:
        return result, InsufficientStock(
            "Not enough stock for every line.",
            fields={f"lines[{s.index}].quantity": ["Not enough stock available."] for s in result.shortfalls},
        )
    reserved = _reserve_positions({pos_id: totals[pos_id] for pos_id in fits})
    if reserved != fits:
        # The locked rows said otherwise: some rows may have changed, so the transaction must
        # not go on (raised inside the block, which marks it for rollback).
        raise InsufficientStock("Stock changed under a lock; nothing is reserved.")
    if to_create:
        fastinsert.insert(to_create)  # every capture: a statement built once, not per call
    return result, None


def stock_reserve_ranked(
    *, lines: Sequence[ReserveLine], warehouse_ids: Sequence[int]
) -> tuple[int, ReserveResult]:
    """Reserve the whole order at the first warehouse of the caller's ranking that has all of it.

    The ranking is the caller's (a channel's warehouse list, ship-to region first); inactive
    warehouses in it are passed over. A refused attempt writes nothing. Where another warehouse
    follows, each attempt runs in a savepoint, so a refused one gives its row locks back before
    the next warehouse's rows are locked (two rankings in opposite orders cannot deadlock); a
    single warehouse needs none. Returns the warehouse that served and the result;
    `InsufficientStock` if none.
    """
    candidates = list(dict.fromkeys(warehouse_ids))
    for warehouse_id in candidates:
        attempt = [dataclasses.replace(line, warehouse_id=warehouse_id) for line in lines]
        try:
            if len(candidates) == 1:
                return warehouse_id, stock_reserve(lines=attempt)
            with transaction.atomic():
                return warehouse_id, stock_reserve(lines=attempt)
        except (InsufficientStock, WarehouseInactive):
            continue
    raise InsufficientStock("No ranked warehouse has every line in stock.")


def _locked_reservations(reservation_ids: Sequence[int], target: str) -> list[Reservation]:
    found = list(
        Reservation.objects.select_for_update(of=("self",))
        .filter(pk__in=list(reservation_ids))
        .order_by("pk")
    )
    if len(found) != len(set(reservation_ids)):
        from oms.kernel.exceptions import NotFound

        raise NotFound("Unknown reservation.")
    for reservation in found:
        ensure_transition(RESERVATION_TRANSITIONS, reservation.status, target)
    return found


def _adjust_positions(deltas: dict[int, tuple[Decimal, Decimal]]) -> None:
    """Apply (on_hand, reserved) deltas, positions in pk order; the constraints guard the result."""
    now = timezone.now()
    for pos_id, (on_hand, reserved) in sorted(deltas.items()):
        StockPosition.objects.filter(pk=pos_id).update(
            on_hand=F("on_hand") + on_hand, reserved=F("reserved") + reserved, updated_at=now
        )


def reservation_release(*, reservation_ids: Sequence[int]) -> list[Reservation]:
    """Give reserved stock back (order canceled, line rescheduled)."""
    with transaction.atomic():
        found = _locked_reservations(reservation_ids, ReservationStatus.RELEASED)
        deltas: dict[int, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
        for r in found:
            deltas[r.position_id] = (Decimal(0), deltas[r.position_id][1] - r.quantity)
        _adjust_positions(deltas)
        Reservation.objects.filter(pk__in=[r.pk for r in found]).update(
            status=ReservationStatus.RELEASED, updated_at=timezone.now()
        )
        for r in found:
            r.status = ReservationStatus.RELEASED
        return found


def reservation_consume(*, reservation_ids: Sequence[int], reference: str, actor=None) -> list[Reservation]:
    """The reserved goods shipped: on-hand and reserved both drop, and the ledger says why."""
    with transaction.atomic():
        found = _locked_reservations(reservation_ids, ReservationStatus.CONSUMED)
        deltas: dict[int, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
        for r in found:
            on_hand, reserved = deltas[r.position_id]
            deltas[r.position_id] = (on_hand - r.quantity, reserved - r.quantity)
        _adjust_positions(deltas)
        user = user_or_none(actor)
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    position_id=r.position_id,
                    kind=MovementKind.SHIPMENT,
                    quantity=-r.quantity,
                    reference=reference,
                    reason=f"{r.demand_type}:{r.demand_id}",
                    user=user,
                )
                for r in found
            ]
        )
        Reservation.objects.filter(pk__in=[r.pk for r in found]).update(
            status=ReservationStatus.CONSUMED, updated_at=timezone.now()
        )
        for r in found:
            r.status = ReservationStatus.CONSUMED
        return found


def reservation_move(*, reservation_id: int, warehouse_id: int) -> Reservation:
    """Re-source a reservation to another warehouse: reserve there first, then free the old stock."""
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update(of=("self",))
            .select_related("position")
            .filter(pk=reservation_id)
            .first()
        )
        if reservation is None:
            from oms.kernel.exceptions import NotFound

            raise NotFound("Unknown reservation.")
        if reservation.status != ReservationStatus.ACTIVE:
            raise ValidationFailed(
                "Only an active reservation can move.", fields={"status": [reservation.status]}
            )
        ensure_active_warehouses([warehouse_id])
        old = reservation.position
        if old.warehouse_id == warehouse_id:
            return reservation
        new = _lock_positions({(old.product_id, warehouse_id)}).get((old.product_id, warehouse_id))
        if new is None or new.pk not in _reserve_positions({new.pk: reservation.quantity}):
            raise InsufficientStock("Not enough stock at the new warehouse.")
        _adjust_positions({old.pk: (Decimal(0), -reservation.quantity)})
        reservation.position = new
        reservation.save(update_fields=["position", "updated_at"])
        return reservation


# --- back-orders -----------------------------------------------------------------------------


def backorder_create(
    *,
    demand_type: str,
    demand_id: str,
    product_id: int,
    quantity,
    warehouse_id: int | None = None,
    demand_class: str = DemandClass.STANDARD,
    need_date: date | None = None,
) -> Demand:
    """Record demand that could not reserve; a later receipt reserves it (see `backorders_reserve`)."""
    with transaction.atomic():
        qty = positive_quantity(quantity)
        if warehouse_id is not None:
            ensure_active_warehouses([warehouse_id])
        return Demand.objects.create(
            demand_type=demand_type,
            demand_id=str(demand_id),
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=qty,
            demand_class=demand_class,
            need_date=need_date,
        )


def backorder_cancel(*, demand_id: int) -> Demand:
    with transaction.atomic():
        demand = Demand.objects.select_for_update(of=("self",)).get(pk=demand_id)
        if demand.status != DemandStatus.OPEN:
            raise ValidationFailed("Only an open back-order can be canceled.")
        demand.status = DemandStatus.CANCELED
        demand.save(update_fields=["status"])
        return demand


def backorders_reserve(*, position: StockPosition) -> list[Reservation]:
    """Let open back-orders for this product reserve at this position, most important first.

    Called inside a receiving service's transaction. Highest demand class first, then earliest
    need date, then oldest; a back-order reserves whole or waits for more supply.
    """
    open_demand = list(
        Demand.objects.select_for_update(of=("self",))
        .filter(product_id=position.product_id, status=DemandStatus.OPEN)
        .filter(Q(warehouse_id=position.warehouse_id) | Q(warehouse__isnull=True))
        .order_by("pk")
    )
    open_demand.sort(key=lambda d: (-DEMAND_CLASS_RANK.get(d.demand_class, 0), d.need_date or date.min, d.pk))
    made: list[Reservation] = []
    for demand in open_demand:
        if position.pk not in _reserve_positions({position.pk: demand.quantity}):
            continue
        reservation = Reservation.objects.create(
            position=position,
            demand_type=demand.demand_type,
            demand_id=demand.demand_id,
            quantity=demand.quantity,
            demand_class=demand.demand_class,
            need_date=demand.need_date,
        )
        Demand.objects.filter(pk=demand.pk).update(status=DemandStatus.RESERVED, reservation=reservation)
        made.append(reservation)
    return made

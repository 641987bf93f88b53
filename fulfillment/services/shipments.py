"""Inbound shipment advice and status updates from warehouses, 3PLs and suppliers.

An advice is idempotent per partner (`advice_id`): a resend returns the first answer, a
different body under the same id is refused (422). A partial quantity splits the fulfillment
line: the shipped slice goes on to billing, the rest keeps waiting under a new request for the
same warehouse. Reserved stock is consumed through inventory (a shipment movement in the ledger).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Reservation
from inventory.services import ReserveLine, reservation_consume, reservation_release, stock_reserve
from inventory.states import ReservationStatus
from oms.kernel import events
from oms.kernel.exceptions import Conflict, IdempotencyKeyReused, NotFound, ValidationFailed
from orders.services.fulfillment_updates import line_fulfillment_progress
from partners.models import Partner

from ..audit import fevent, fl_set_status
from ..models import FulfillmentLine, ProcessInstance, Shipment, ShipmentAdvice, ShipmentLine
from ..states import (
    SHIPMENT_TRANSITIONS,
    FulfillmentLineStatus,
    ShipmentStatus,
    StepStatus,
    TaskType,
    ensure_transition,
)
from .engine import step_signal
from .lines import line_split

DEMAND_TYPE = "fulfillment_line"


@dataclass(frozen=True)
class AdviceLine:
    fulfillment_line_id: int
    quantity: Decimal


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _shipment_for_partner(partner: Partner, number: str) -> Shipment:
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("warehouse", "order", "order__channel")
        .filter(number=number)
        .first()
    )
    # A partner sees only the shipments of the location it operates (no guessing other numbers).
    if shipment is None or shipment.warehouse.code != partner.external_ref:
        raise NotFound("No such shipment for this partner.")
    return shipment


def _consume(
    line: FulfillmentLine, shipped: Decimal, new_line: FulfillmentLine | None, reference: str
) -> None:
    reservation = (
        Reservation.objects.filter(pk=line.reservation_id, status=ReservationStatus.ACTIVE)
        .select_related("position")
        .first()
    )
    if reservation is None:
        return  # drop ship: the supplier's stock, not ours
    if new_line is not None:
        # Split the reservation: give it back and reserve both slices at once, in one transaction.
        reservation_release(reservation_ids=[reservation.pk])
        result = stock_reserve(
            lines=[
                ReserveLine(
                    line.product_id,
                    reservation.position.warehouse_id,
                    shipped,
                    DEMAND_TYPE,
                    str(line.pk),
                    reservation.demand_class,
                    reservation.need_date,
                ),
                ReserveLine(
                    line.product_id,
                    reservation.position.warehouse_id,
                    new_line.quantity,
                    DEMAND_TYPE,
                    str(new_line.pk),
                    reservation.demand_class,
                    reservation.need_date,
                ),
            ]
        )
        reservation, rest = result.reservations
        line.reservation = reservation
        new_line.reservation = rest
        new_line.save(update_fields=["reservation", "updated_at"])
    reservation_consume(reservation_ids=[reservation.pk], reference=reference)
    line.reservation = reservation


@transaction.atomic
def shipment_advice_record(
    *,
    partner: Partner,
    advice_id: str,
    shipment_number: str,
    lines: Sequence[AdviceLine] = (),
    carrier: str = "",
    service: str = "",
    tracking_number: str = "",
) -> dict[str, Any]:
    body = {
        "shipment": shipment_number,
        "lines": [[al.fulfillment_line_id, str(al.quantity)] for al in lines],
        "carrier": carrier,
        "service": service,
        "tracking_number": tracking_number,
    }
    digest = _hash(body)
    seen = ShipmentAdvice.objects.filter(partner=partner, advice_id=advice_id).first()
    if seen is not None:
        if seen.request_hash != digest:
            raise IdempotencyKeyReused("This advice id was used with a different body.")
        return seen.response
    shipment = _shipment_for_partner(partner, shipment_number)
    shipped_lines = _ship(
        shipment, lines=lines, carrier=carrier, service=service, tracking_number=tracking_number
    )
    response = {"shipment": shipment.number, "status": ShipmentStatus.SHIPPED, "lines": shipped_lines}
    try:
        with transaction.atomic():
            ShipmentAdvice.objects.create(
                partner=partner, advice_id=advice_id, request_hash=digest, response=response
            )
    except IntegrityError as exc:  # a concurrent duplicate won: roll ours back whole
        raise Conflict("This advice is being processed.") from exc
    return response


@transaction.atomic
def shipment_confirm(
    *,
    shipment_number: str,
    actor: str,
    lines: Sequence[AdviceLine],
    carrier: str,
    service: str = "",
    tracking_number: str,
) -> dict[str, Any]:
    """A warehouse person confirms a shipment from the staff UI: every line of the shipment with
    the quantity that left (all of it, or part: the rest waits under a new request), with the
    carrier's tracking. Billing follows through the same events as a partner's advice. A second
    confirmation of the same shipment (a double click) is refused by the shipment's lifecycle."""
    problems: dict[str, list[str]] = {}
    if not carrier.strip():
        problems["carrier"] = ["Enter the carrier."]
    if not tracking_number.strip():
        problems["tracking_number"] = ["Enter the tracking number."]
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("warehouse", "order", "order__channel")
        .filter(number=shipment_number)
        .first()
    )
    if shipment is None:
        raise NotFound("No such shipment.")
    ensure_transition(SHIPMENT_TRANSITIONS, shipment.status, ShipmentStatus.SHIPPED)
    requested = {sl.fulfillment_line_id: sl.quantity_requested for sl in shipment.lines.order_by("pk")}
    given = {al.fulfillment_line_id: al.quantity for al in lines}
    for fl_id, quantity in requested.items():
        qty = given.get(fl_id)
        if qty is None or qty <= 0:
            problems[f"lines[{fl_id}].quantity"] = ["Enter the quantity shipped (more than 0)."]
        elif qty > quantity:
            problems[f"lines[{fl_id}].quantity"] = [
                f"At most {quantity.normalize():f}, the quantity requested."
            ]
    if set(given) - set(requested):
        problems["lines"] = ["A line that is not on this shipment was given."]
    if problems:
        raise ValidationFailed("The shipment was not confirmed.", fields=problems)
    shipped_lines = _ship(
        shipment,
        lines=lines,
        carrier=carrier.strip(),
        service=service.strip(),
        tracking_number=tracking_number.strip(),
        actor=actor,
    )
    return {"shipment": shipment.number, "status": ShipmentStatus.SHIPPED, "lines": shipped_lines}


def _ship(
    shipment: Shipment,
    *,
    lines: Sequence[AdviceLine],
    carrier: str,
    service: str,
    tracking_number: str,
    actor: str = "system",
) -> list[dict[str, Any]]:
    """Ship a locked shipment: the quantities given (or everything requested), splitting a line
    whose quantity is short so the rest waits under a new request. Shared by the partner advice
    and the staff confirmation, so both move stock, lines and billing the same way."""
    ensure_transition(SHIPMENT_TRANSITIONS, shipment.status, ShipmentStatus.SHIPPED)
    requested = {
        sl.fulfillment_line_id: sl for sl in shipment.lines.select_for_update(of=("self",)).order_by("pk")
    }
    wanted = {al.fulfillment_line_id: al.quantity for al in lines} or {
        fl_id: sl.quantity_requested for fl_id, sl in requested.items()
    }
    for i, (fl_id, qty) in enumerate(wanted.items()):
        sl = requested.get(fl_id)
        if sl is None:
            raise ValidationFailed(
                "Not a line of this shipment.", fields={f"lines[{i}].fulfillment_line": ["Unknown."]}
            )
        if qty <= 0 or qty > sl.quantity_requested:
            raise ValidationFailed(
                "Shipped quantity out of range.",
                fields={f"lines[{i}].quantity": [f"1..{sl.quantity_requested}"]},
            )
    now = timezone.now()
    shipped_lines = []
    for fl_id, qty in sorted(wanted.items()):
        sl = requested[fl_id]
        # The engine's lock order (process, then line): a worker on the same process waits here
        # instead of deadlocking with us.
        ProcessInstance.objects.select_for_update(of=("self",)).filter(fulfillment_line_id=fl_id).first()
        line = (
            FulfillmentLine.objects.select_for_update(of=("self",))
            .select_related("order", "order__channel", "order_line")
            .get(pk=fl_id)
        )
        if line.status != FulfillmentLineStatus.AWAITING_SHIPPING:
            raise Conflict(f"Fulfillment line {fl_id} is {line.status}, not awaiting shipping.")
        new_line = None
        if qty < line.quantity:
            wait_seq = (
                line.process.steps.filter(task_type=TaskType.WAIT_FOR_SHIPMENT)
                .values_list("sequence", flat=True)
                .first()
            )
            if wait_seq is None:
                raise Conflict("This line's process cannot ship partially (no WAIT_FOR_SHIPMENT step).")
            new_line = line_split(
                line=line,
                keep=qty,
                start_at=wait_seq,
                status=FulfillmentLineStatus.AWAITING_SHIPPING,
                reason=f"partial shipment {shipment.number}",
            )
            rest = Shipment.objects.create(
                number=f"{shipment.number}-R{new_line.pk}",
                order=shipment.order,
                order_number=shipment.order_number,
                warehouse=shipment.warehouse,
                request_key=f"split:{shipment.pk}:{new_line.pk}",
            )
            ShipmentLine.objects.create(
                shipment=rest, fulfillment_line=new_line, quantity_requested=new_line.quantity
            )
            events.publish(
                "shipment.requested",
                {
                    "number": line.order_number,
                    "channel": line.order.channel.code,
                    "shipment": rest.number,
                    "warehouse": shipment.warehouse.code,
                    "remainder_of": shipment.number,
                    "lines": [{"fulfillment_line": new_line.pk, "quantity": str(new_line.quantity)}],
                },
                aggregate=("order", line.order_number),
            )
            ShipmentLine.objects.filter(pk=sl.pk).update(quantity_requested=qty)
        _consume(line, qty, new_line, shipment.number)
        ShipmentLine.objects.filter(pk=sl.pk).update(quantity_shipped=qty)
        line.shipped_quantity = qty
        line.save()
        fl_set_status(line, FulfillmentLineStatus.SHIPPED, reason=shipment.number)
        fevent(
            "shipped",
            line=line,
            actor=actor,
            after={"shipment": shipment.number, "quantity": str(qty), "tracking": tracking_number},
        )
        line_fulfillment_progress(line_id=line.order_line_id, shipped_delta=qty, reference=shipment.number)
        step_signal(line_id=line.pk, event="shipment.shipped")
        shipped_lines.append(
            {
                "fulfillment_line": line.pk,
                "quantity": str(qty),
                "remainder_line": new_line.pk if new_line else None,
            }
        )
    Shipment.objects.filter(pk=shipment.pk).update(
        status=ShipmentStatus.SHIPPED,
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        shipped_at=now,
        updated_at=now,
    )
    events.publish(
        "shipment.shipped",
        {
            "number": shipment.order_number,
            "channel": shipment.order.channel.code,
            "shipment": shipment.number,
            "carrier": carrier,
            "service": service,
            "tracking_number": tracking_number,
            "lines": shipped_lines,
        },
        aggregate=("order", shipment.order_number),
    )
    _wake_pauses(shipment.order_number)
    return shipped_lines


def _wake_pauses(order_number: str) -> None:
    from ..models import StepInstance
    from .engine import _run_now

    now = timezone.now()
    for step in StepInstance.objects.select_for_update(of=("self",)).filter(
        process__fulfillment_line__order_number=order_number,
        status=StepStatus.WAITING,
        awaited_event="all_lines_shipped",
    ):
        _run_now(step, now)


@transaction.atomic
def shipment_status_update(
    *, partner: Partner, shipment_number: str, status: str, note: str = ""
) -> Shipment:
    """Delivery or exception reported by the carrier/warehouse."""
    if status not in (ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION):
        raise ValidationFailed("Only delivered or exception.", fields={"status": [status]})
    shipment = _shipment_for_partner(partner, shipment_number)
    if shipment.status == status:
        return shipment
    ensure_transition(SHIPMENT_TRANSITIONS, shipment.status, status)
    before = shipment.status
    shipment.status = status
    if status == ShipmentStatus.DELIVERED:
        shipment.delivered_at = timezone.now()
    shipment.save()
    fevent(
        f"shipment_{status}",
        order_number=shipment.order_number,
        before={"status": before},
        after={"status": status, "shipment": shipment.number},
        data={"note": note} if note else None,
    )
    events.publish(
        f"shipment.{status}",
        {
            "number": shipment.order_number,
            "channel": shipment.order.channel.code,
            "shipment": shipment.number,
            "note": note,
        },
        aggregate=("order", shipment.order_number),
    )
    return shipment

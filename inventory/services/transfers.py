"""Transfers between warehouses: draft -> in transit (leaves the origin) -> received (arrives)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.services import base_quantities_check
from oms.kernel.exceptions import InsufficientStock, NotFound, ValidationFailed

from ..models import MovementKind, StockMovement, StockPosition, Transfer, TransferLine
from ..states import TRANSFER_TRANSITIONS, TransferStatus, ensure_transition
from ._common import audit, ensure_active_warehouses, positive_quantity, user_or_none
from .stock import receive_into


@dataclass(frozen=True)
class TransferLineInput:
    product_id: int
    quantity: Decimal


@transaction.atomic
def transfer_create(
    *,
    from_warehouse_id: int,
    to_warehouse_id: int,
    lines: Sequence[TransferLineInput],
    expected_arrival: date | None = None,
    actor=None,
) -> Transfer:
    if from_warehouse_id == to_warehouse_id:
        raise ValidationFailed(
            "A transfer goes between two warehouses.", fields={"to_warehouse": ["Same as origin."]}
        )
    if not lines:
        raise ValidationFailed("A transfer needs at least one line.", fields={"lines": ["Required."]})
    quantities = [
        positive_quantity(line.quantity, field=f"lines[{i}].quantity") for i, line in enumerate(lines)
    ]
    if len({line.product_id for line in lines}) != len(lines):
        raise ValidationFailed("One line per product.", fields={"lines": ["Duplicate product."]})
    base_quantities_check(
        {
            f"lines[{i}].quantity": (line.product_id, qty)
            for i, (line, qty) in enumerate(zip(lines, quantities, strict=True))
        }
    )
    ensure_active_warehouses([from_warehouse_id, to_warehouse_id])
    transfer = Transfer.objects.create(
        from_warehouse_id=from_warehouse_id,
        to_warehouse_id=to_warehouse_id,
        expected_arrival=expected_arrival,
    )
    TransferLine.objects.bulk_create(
        [
            TransferLine(transfer=transfer, product_id=line.product_id, quantity=qty)
            for line, qty in zip(lines, quantities, strict=True)
        ]
    )
    audit(
        document_type="transfer",
        document_id=transfer.pk,
        action="created",
        before="",
        after=transfer.status,
        actor=actor,
    )
    return transfer


def _transition(transfer_id: int, target: str, actor) -> tuple[Transfer, str]:
    transfer = Transfer.objects.select_for_update(of=("self",)).filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound("Unknown transfer.")
    ensure_transition(TRANSFER_TRANSITIONS, transfer.status, target)
    before = transfer.status
    transfer.status = target
    audit(
        document_type="transfer",
        document_id=transfer.pk,
        action=f"to_{target}",
        before=before,
        after=target,
        actor=actor,
    )
    return transfer, before


@transaction.atomic
def transfer_ship(*, transfer_id: int, actor=None) -> Transfer:
    """Goods leave the origin: unreserved stock only (reserved stock is promised to demand)."""
    transfer, _ = _transition(transfer_id, TransferStatus.IN_TRANSIT, actor)
    lines = list(transfer.lines.all())
    positions = {
        pos.product_id: pos
        for pos in StockPosition.objects.filter(
            warehouse_id=transfer.from_warehouse_id, product_id__in=[line.product_id for line in lines]
        ).order_by("pk")
    }
    user = user_or_none(actor)
    movements = []
    for line in sorted(
        lines, key=lambda ln: positions[ln.product_id].pk if ln.product_id in positions else 0
    ):
        pos = positions.get(line.product_id)
        if pos is None or not StockPosition.objects.filter(
            pk=pos.pk, on_hand__gte=F("reserved") + line.quantity
        ).update(on_hand=F("on_hand") - line.quantity, updated_at=timezone.now()):
            raise InsufficientStock(f"Not enough unreserved stock of product {line.product_id} to ship.")
        movements.append(
            StockMovement(
                position=pos,
                kind=MovementKind.TRANSFER_OUT,
                quantity=-line.quantity,
                reference=transfer.number,
                user=user,
            )
        )
    StockMovement.objects.bulk_create(movements)
    transfer.shipped_at = timezone.now()
    transfer.save(update_fields=["status", "shipped_at"])
    return transfer


@transaction.atomic
def transfer_receive(*, transfer_id: int, actor=None) -> Transfer:
    transfer, _ = _transition(transfer_id, TransferStatus.RECEIVED, actor)
    for line in transfer.lines.order_by("product_id"):
        receive_into(
            product_id=line.product_id,
            warehouse_id=transfer.to_warehouse_id,
            quantity=line.quantity,
            kind=MovementKind.TRANSFER_IN,
            reference=transfer.number,
            actor=actor,
        )
    transfer.received_at = timezone.now()
    transfer.save(update_fields=["status", "received_at"])
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer_id: int, actor=None) -> Transfer:
    """Cancel a draft, or a transfer in transit (the goods go back on hand at the origin)."""
    transfer, before = _transition(transfer_id, TransferStatus.CANCELED, actor)
    if before == TransferStatus.IN_TRANSIT:
        for line in transfer.lines.order_by("product_id"):
            receive_into(
                product_id=line.product_id,
                warehouse_id=transfer.from_warehouse_id,
                quantity=line.quantity,
                kind=MovementKind.TRANSFER_IN,
                reference=transfer.number,
                actor=actor,
                reason="transfer canceled",
            )
    transfer.save(update_fields=["status"])
    return transfer


@transaction.atomic
def transfer_expedite(*, transfer_id: int, expected_arrival: date, note: str = "", actor=None) -> Transfer:
    """Expedite an open transfer (draft or in transit): it is now expected on `expected_arrival`."""
    transfer = Transfer.objects.select_for_update(of=("self",)).filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound("Unknown transfer.")
    if transfer.status not in (TransferStatus.DRAFT, TransferStatus.IN_TRANSIT):
        raise ValidationFailed(
            "Only a draft or in-transit transfer can be expedited.", fields={"status": [transfer.status]}
        )
    before = transfer.expected_arrival
    transfer.expected_arrival = expected_arrival
    transfer.save(update_fields=["expected_arrival"])
    audit(
        document_type="transfer",
        document_id=transfer.pk,
        action="expedited",
        before=before.isoformat() if before else "",
        after=expected_arrival.isoformat(),
        actor=actor,
        note=note[:300],
    )
    return transfer

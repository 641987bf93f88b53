"""Every change to stock goes through here: conditional UPDATEs plus a ledger row, one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, Value, When

from catalog.services import base_quantities_check
from oms.kernel import events
from oms.kernel.exceptions import ValidationFailed

from ..errors import NegativeOnHand
from ..models import MovementKind, StockMovement, StockPosition
from ._common import ensure_active_warehouses, positive_quantity, user_or_none
from .reservations import backorders_reserve

# Keeps each CASE statement well inside SQLite's 999 bound parameters (3 per position).
_UPDATE_CHUNK = 250


def _positive_quantity(quantity: Decimal | int | str) -> Decimal:
    return positive_quantity(quantity)


def receive_into(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: Decimal,
    kind: str,
    reference: str,
    actor=None,
    reason="",
    purchase_order_line_id: int | None = None,
) -> StockPosition:
    """Add stock to a position through the ledger, let back-orders reserve it, publish
    `stock.received` (with the movement and, for a PO receipt, the PO line: rebates accrue on
    receipts). Runs inside the calling service's transaction."""
    position, _ = StockPosition.objects.get_or_create(product_id=product_id, warehouse_id=warehouse_id)
    # F() addition, not read-modify-write: concurrent receipts and shipments both land.
    StockPosition.objects.filter(pk=position.pk).update(on_hand=F("on_hand") + quantity)
    movement = StockMovement.objects.create(
        position=position,
        kind=kind,
        quantity=quantity,
        reference=reference,
        reason=reason,
        user=user_or_none(actor),
    )
    reservations = backorders_reserve(position=position)
    events.publish(
        "stock.received",
        {
            "product_id": product_id,
            "warehouse_id": warehouse_id,
            "quantity": str(quantity),
            "kind": kind,
            "reference": reference,
            "movement_id": movement.pk,
            "purchase_order_line_id": purchase_order_line_id,
            "reserved_backorders": [
                {
                    "reservation_id": r.pk,
                    "demand_type": r.demand_type,
                    "demand_id": r.demand_id,
                    "quantity": str(r.quantity),
                }
                for r in reservations
            ],
        },
        aggregate=("stock_position", position.pk),
    )
    position.refresh_from_db(fields=["on_hand", "reserved", "updated_at"])
    return position


@transaction.atomic
def stock_receive(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: Decimal | int | str,
    reference: str,
    actor=None,
    reason: str = "",
    kind: str = MovementKind.RECEIPT,
) -> StockPosition:
    """Put `quantity` (base unit) on hand and record the receipt (or return) in the ledger."""
    qty = _positive_quantity(quantity)
    if kind not in (MovementKind.RECEIPT, MovementKind.RETURN):
        raise ValidationFailed("Receive records receipts and customer returns.", fields={"kind": [kind]})
    base_quantities_check({"quantity": (product_id, qty)})
    ensure_active_warehouses([warehouse_id])
    return receive_into(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=qty,
        kind=kind,
        reference=reference,
        actor=actor,
        reason=reason,
    )


@transaction.atomic
def stock_adjust(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: Decimal | int | str,
    reason: str,
    actor=None,
    reference: str = "",
    kind: str = MovementKind.ADJUSTMENT,
) -> StockPosition:
    """A signed correction (damage, found stock, cycle count). It may not take on-hand below
    what is reserved: reserved stock is promised, so it is released by its owner first."""
    if isinstance(quantity, float):
        raise TypeError("Quantities are Decimal, never float.")
    try:
        qty = Decimal(quantity)
    except Exception as exc:
        raise ValidationFailed("Not a quantity.", fields={"quantity": ["Not a number."]}) from exc
    if not qty.is_finite() or qty == 0:
        raise ValidationFailed(
            "An adjustment must change the quantity.", fields={"quantity": ["Must not be 0."]}
        )
    if kind not in (MovementKind.ADJUSTMENT, MovementKind.CYCLE_COUNT):
        raise ValidationFailed("Not an adjustment kind.", fields={"kind": [kind]})
    if not reason.strip():
        raise ValidationFailed("An adjustment needs a reason.", fields={"reason": ["Required."]})
    base_quantities_check({"quantity": (product_id, qty)})
    ensure_active_warehouses([warehouse_id])
    if qty > 0:
        position, _ = StockPosition.objects.get_or_create(product_id=product_id, warehouse_id=warehouse_id)
        updated = StockPosition.objects.filter(pk=position.pk).update(on_hand=F("on_hand") + qty)
    else:
        position = StockPosition.objects.filter(product_id=product_id, warehouse_id=warehouse_id).first()
        updated = position is not None and StockPosition.objects.filter(
            pk=position.pk, on_hand__gte=F("reserved") - qty
        ).update(on_hand=F("on_hand") + qty)
    if not updated:
        raise NegativeOnHand(fields={"quantity": ["Would leave less on hand than reserved."]})
    StockMovement.objects.create(
        position=position,
        kind=kind,
        quantity=qty,
        reference=reference,
        reason=reason,
        user=user_or_none(actor),
    )
    position.refresh_from_db(fields=["on_hand", "reserved", "updated_at"])
    return position


@dataclass(frozen=True)
class ReceiptLine:
    product_id: int
    warehouse_id: int
    quantity: Decimal


@transaction.atomic
def stock_receive_bulk(
    *, lines: Iterable[ReceiptLine], reference: str, actor=None, reason: str = ""
) -> list[StockPosition]:
    """Receive many lines at once in a handful of queries, whatever the number of lines.

    Missing positions are inserted (ignoring ones a concurrent writer just created), then one
    CASE ... UPDATE per chunk adds the quantities, in primary-key order, and the movements are
    bulk-inserted. Same effect as calling `stock_receive` per line.
    """
    totals: dict[tuple[int, int], Decimal] = {}
    given: dict[str, tuple[int, Decimal]] = {}
    for i, line in enumerate(lines):
        key = (line.product_id, line.warehouse_id)
        qty = _positive_quantity(line.quantity)
        totals[key] = totals.get(key, Decimal(0)) + qty
        given[f"lines[{i}].quantity"] = (line.product_id, qty)
    if not totals:
        return []
    base_quantities_check(given)
    StockPosition.objects.bulk_create(
        [StockPosition(product_id=p, warehouse_id=w) for p, w in totals],
        ignore_conflicts=True,
    )
    product_ids = {p for p, _ in totals}
    warehouse_ids = {w for _, w in totals}
    by_key = {
        (pos.product_id, pos.warehouse_id): pos
        for pos in StockPosition.objects.filter(product_id__in=product_ids, warehouse_id__in=warehouse_ids)
        if (pos.product_id, pos.warehouse_id) in totals
    }
    positions = sorted(by_key.values(), key=lambda pos: pos.pk)
    quantity_field = DecimalField(max_digits=20, decimal_places=4)
    for start in range(0, len(positions), _UPDATE_CHUNK):
        chunk = positions[start : start + _UPDATE_CHUNK]
        StockPosition.objects.filter(pk__in=[pos.pk for pos in chunk]).update(
            on_hand=F("on_hand")
            + Case(
                *[When(pk=pos.pk, then=Value(totals[(pos.product_id, pos.warehouse_id)])) for pos in chunk],
                output_field=quantity_field,
            )
        )
    user = actor if getattr(actor, "pk", None) else None
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                position=pos,
                kind=MovementKind.RECEIPT,
                quantity=totals[(pos.product_id, pos.warehouse_id)],
                reference=reference,
                reason=reason,
                user=user,
            )
            for pos in positions
        ],
        batch_size=500,
    )
    for pos in positions:
        pos.on_hand += totals[(pos.product_id, pos.warehouse_id)]
    return positions

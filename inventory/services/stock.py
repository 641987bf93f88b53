"""Every change to stock goes through here: conditional UPDATEs plus a ledger row, one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, Value, When

from oms.kernel.exceptions import ValidationFailed

from .models import MovementKind, StockMovement, StockPosition

# Keeps each CASE statement well inside SQLite's 999 bound parameters (3 per position).
_UPDATE_CHUNK = 250


def _positive_quantity(quantity: Decimal | int | str) -> Decimal:
    if isinstance(quantity, float):
        raise TypeError("Quantities are Decimal, never float.")
    qty = Decimal(quantity)
    if not qty.is_finite() or qty <= 0:
        raise ValidationFailed("A receipt quantity must be positive.", fields={"quantity": ["Must be > 0."]})
    return qty


@transaction.atomic
def stock_receive(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: Decimal | int | str,
    reference: str,
    actor=None,
    reason: str = "",
) -> StockPosition:
    """Put `quantity` (base unit) on hand and record the receipt in the ledger."""
    qty = _positive_quantity(quantity)
    position, _ = StockPosition.objects.get_or_create(product_id=product_id, warehouse_id=warehouse_id)
    # F() addition, not read-modify-write: concurrent receipts and shipments both land.
    StockPosition.objects.filter(pk=position.pk).update(on_hand=F("on_hand") + qty)
    StockMovement.objects.create(
        position=position,
        kind=MovementKind.RECEIPT,
        quantity=qty,
        reference=reference,
        reason=reason,
        user=actor if getattr(actor, "pk", None) else None,
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
    for line in lines:
        key = (line.product_id, line.warehouse_id)
        totals[key] = totals.get(key, Decimal(0)) + _positive_quantity(line.quantity)
    if not totals:
        return []
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

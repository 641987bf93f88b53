"""Purchase orders: create, move through their lifecycle, receive (partial allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F

from catalog.models import Supplier
from catalog.services import base_quantities_check
from oms.kernel.exceptions import NotFound, ValidationFailed

from ..errors import OverReceipt
from ..models import MovementKind, PurchaseOrder, PurchaseOrderKind, PurchaseOrderLine
from ..states import PO_RECEIVABLE_STATUSES, PO_TRANSITIONS, PurchaseOrderStatus, ensure_transition
from ._common import audit, ensure_active_warehouses, positive_quantity
from .stock import receive_into


@dataclass(frozen=True)
class PurchaseLineInput:
    product_id: int
    quantity: Decimal
    unit_cost: Decimal | None = None


@transaction.atomic
def purchase_order_create(
    *,
    supplier_id: int,
    warehouse_id: int,
    lines: Sequence[PurchaseLineInput],
    lead_time_days: int = 7,
    kind: str = PurchaseOrderKind.STANDARD,
    demand_type: str = "",
    demand_id: str = "",
    ship_to: str = "",
    currency: str = "USD",
    actor=None,
    today: date | None = None,
) -> PurchaseOrder:
    """A draft PO. Back-to-back and drop-ship POs carry the demand they were raised for (opaque)."""
    if not lines:
        raise ValidationFailed("A purchase order needs at least one line.", fields={"lines": ["Required."]})
    if kind not in PurchaseOrderKind.values:
        raise ValidationFailed("Unknown purchase order kind.", fields={"kind": [kind]})
    if kind != PurchaseOrderKind.STANDARD and not (demand_type and demand_id):
        raise ValidationFailed(
            "Back-to-back and drop-ship POs name their demand.", fields={"demand_id": ["Required."]}
        )
    if kind == PurchaseOrderKind.DROP_SHIP and not ship_to.strip():
        raise ValidationFailed(
            "A drop-ship PO needs the customer's address.", fields={"ship_to": ["Required."]}
        )
    if not Supplier.objects.filter(pk=supplier_id, active=True).exists():
        raise ValidationFailed("Unknown or inactive supplier.", fields={"supplier": ["Not active."]})
    ensure_active_warehouses([warehouse_id])
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
    expected = (today or date.today()) + timedelta(days=lead_time_days)
    po = PurchaseOrder.objects.create(
        supplier_id=supplier_id,
        warehouse_id=warehouse_id,
        kind=kind,
        demand_type=demand_type,
        demand_id=str(demand_id),
        ship_to=ship_to,
        currency=currency,
        expected_date=expected,
    )
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(
                purchase_order=po,
                product_id=line.product_id,
                quantity_ordered=qty,
                unit_cost=line.unit_cost,
                expected_date=expected,
            )
            for line, qty in zip(lines, quantities, strict=True)
        ]
    )
    audit(
        document_type="purchase_order",
        document_id=po.pk,
        action="created",
        before="",
        after=po.status,
        actor=actor,
    )
    return po


def _locked_po(purchase_order_id: int) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update(of=("self",)).filter(pk=purchase_order_id).first()
    if po is None:
        raise NotFound("Unknown purchase order.")
    return po


@transaction.atomic
def purchase_order_transition(
    *, purchase_order_id: int, target: str, actor=None, note: str = "", today: date | None = None
) -> PurchaseOrder:
    """The one path for status changes: lock, check the table, audit. Receipts use it too."""
    po = _locked_po(purchase_order_id)
    ensure_transition(PO_TRANSITIONS, po.status, target)
    before = po.status
    po.status = target
    fields = ["status", "updated_at"]
    if target == PurchaseOrderStatus.SENT and po.expected_date is None:
        po.expected_date = today or date.today()
        fields.append("expected_date")
    po.save(update_fields=fields)
    audit(
        document_type="purchase_order",
        document_id=po.pk,
        action=f"to_{target}",
        before=before,
        after=target,
        actor=actor,
        note=note,
    )
    return po


@dataclass(frozen=True)
class ReceiptInput:
    line_id: int
    quantity: Decimal


@transaction.atomic
def purchase_order_receive(
    *, purchase_order_id: int, lines: Sequence[ReceiptInput], reference: str = "", actor=None
) -> PurchaseOrder:
    """Receive some or all of a sent PO. Each line may exceed its open quantity only within
    OMS_RECEIPT_OVER_TOLERANCE_PERCENT of what was ordered. Receipt movements go through the
    ledger, back-orders reserve the new stock, `stock.received` is published."""
    po = _locked_po(purchase_order_id)
    if po.status not in PO_RECEIVABLE_STATUSES:
        ensure_transition(PO_TRANSITIONS, po.status, PurchaseOrderStatus.PARTIALLY_RECEIVED)
    if not lines:
        raise ValidationFailed("Nothing to receive.", fields={"lines": ["Required."]})
    ensure_active_warehouses([po.warehouse_id])
    po_lines = {line.pk: line for line in po.lines.select_for_update(of=("self",)).order_by("pk")}
    tolerance = Decimal(str(settings.OMS_RECEIPT_OVER_TOLERANCE_PERCENT)) / 100
    wanted: dict[int, Decimal] = {}
    given: dict[str, tuple[int, Decimal]] = {}
    for i, item in enumerate(lines):
        qty = positive_quantity(item.quantity, field=f"lines[{i}].quantity")
        if item.line_id not in po_lines:
            raise ValidationFailed(
                "Not a line of this purchase order.", fields={f"lines[{i}].line_id": ["Unknown."]}
            )
        wanted[item.line_id] = wanted.get(item.line_id, Decimal(0)) + qty
        given[f"lines[{i}].quantity"] = (po_lines[item.line_id].product_id, qty)
    base_quantities_check(given)
    for line_id, qty in wanted.items():
        line = po_lines[line_id]
        limit = line.quantity_ordered * (1 + tolerance)
        if line.quantity_received + qty > limit:
            raise OverReceipt(
                f"Line {line_id}: {line.quantity_received + qty} received > {limit} allowed.",
                fields={"quantity": [f"At most {limit - line.quantity_received} more."]},
            )
    reference = reference or po.number
    for line_id, qty in sorted(wanted.items()):
        line = po_lines[line_id]
        PurchaseOrderLine.objects.filter(pk=line_id).update(quantity_received=F("quantity_received") + qty)
        line.quantity_received += qty
        receive_into(
            product_id=line.product_id,
            warehouse_id=po.warehouse_id,
            quantity=qty,
            kind=MovementKind.RECEIPT,
            reference=reference,
            actor=actor,
            reason=f"{po.number} line {line_id}",
            purchase_order_line_id=line_id,
        )
    complete = all(line.quantity_received >= line.quantity_ordered for line in po_lines.values())
    target = PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIALLY_RECEIVED
    return purchase_order_transition(purchase_order_id=po.pk, target=target, actor=actor, note=reference)

"""The step types. Each `run` is called inside the engine's transaction with the process, step
and fulfillment line locked; it either finishes (`Done`) or waits (`Wait`). Side effects are
guarded by a status check on the locked line, plus the step run's key where a document is made."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from inventory.models import Demand, PurchaseOrderKind, Reservation
from inventory.services import (
    PurchaseLineInput,
    ReserveLine,
    backorder_cancel,
    backorder_create,
    purchase_order_create,
    purchase_order_transition,
    reservation_move,
    reservation_release,
    stock_reserve,
)
from inventory.states import DemandStatus, PurchaseOrderStatus, ReservationStatus
from oms.kernel.exceptions import InsufficientStock, ValidationFailed
from orders.states import HoldScope

from ..audit import fevent, fl_set_status
from ..models import FulfillmentLine, ProductSupply, Shipment, ShipmentLine
from ..sourcing import source_line
from ..states import (
    FL_SHIPPED_OR_LATER,
    SHIPMENT_CANCELABLE,
    FulfillmentMode,
    PauseEvent,
    ShipmentStatus,
    TaskType,
)
from ..states import (
    FulfillmentLineStatus as FLS,
)
from . import QUANTITY, RESERVATION_LOST, RESOURCE, SHIP_TO, Done, StepContext, StepType, Wait, register

DEMAND_TYPE = "fulfillment_line"
CAPTURE_DEMAND_TYPE = "order_line"


def _recheck(ctx: StepContext) -> datetime:
    return ctx.now + timedelta(seconds=settings.OMS_STEP_WAIT_RECHECK_SECONDS)


def _active_reservation(line: FulfillmentLine) -> Reservation | None:
    if line.reservation_id is None:
        return None
    r = Reservation.objects.filter(pk=line.reservation_id).first()
    return r if r is not None and r.status == ReservationStatus.ACTIVE else None


def _adopt_capture_reservation(line: FulfillmentLine) -> Reservation | None:
    """A line reserved at capture keeps that reservation (unless another slice took it)."""
    taken = (
        FulfillmentLine.objects.exclude(pk=line.pk).filter(reservation__isnull=False).values("reservation_id")
    )
    return (
        Reservation.objects.filter(
            demand_type=CAPTURE_DEMAND_TYPE,
            demand_id=str(line.order_line_id),
            status=ReservationStatus.ACTIVE,
            quantity=line.quantity,
            position__product_id=line.product_id,
        )
        .exclude(pk__in=taken)
        .select_related("position")
        .first()
    )


def _reserve(line: FulfillmentLine, warehouse_id: int) -> Reservation:
    result = stock_reserve(
        lines=[
            ReserveLine(
                product_id=line.product_id,
                warehouse_id=warehouse_id,
                quantity=line.quantity,
                demand_type=DEMAND_TYPE,
                demand_id=str(line.pk),
                demand_class=line.order.demand_class,
                need_date=line.scheduled_ship_date,
            )
        ]
    )
    return result.reservations[0]


# --- SCHEDULE -------------------------------------------------------------------------------


def _promise(line: FulfillmentLine) -> None:
    """The first schedule promises a delivery date (ship date plus transit); a reschedule keeps
    the promise, so planning measures the new dates against it."""
    if line.promised_date is None and line.scheduled_ship_date is not None:
        line.promised_date = line.scheduled_ship_date + timedelta(days=settings.OMS_PLANNING_TRANSIT_DAYS)


def schedule_run(ctx: StepContext) -> Done | Wait:
    from ..services.lines import line_split

    line = ctx.line
    adopted = None if line.source_pinned else (_active_reservation(line) or _adopt_capture_reservation(line))
    if adopted is not None:
        line.reservation = adopted
        line.warehouse_id = adopted.position.warehouse_id
        line.mode = FulfillmentMode.WAREHOUSE
        line.scheduled_ship_date = line.scheduled_ship_date or timezone.localdate()
        _promise(line)
        line.save()
        fl_set_status(line, FLS.SCHEDULED, reason="reserved at capture", step=ctx.step)
        return Done("kept the reservation made at capture")
    if line.source_pinned and line.warehouse_id:
        # A what-if chose where this slice comes from (a drop ship): keep it.
        line.scheduled_ship_date = line.scheduled_ship_date or timezone.localdate()
        line.save()
        fl_set_status(line, FLS.SCHEDULED, reason="sourcing chosen in a what-if", step=ctx.step)
        return Done(f"{line.mode} from warehouse {line.warehouse_id} (chosen in a what-if)")
    decision = source_line(line=line)
    line.mode = decision.mode
    line.scheduled_ship_date = decision.ship_date
    if line.promised_date is None and decision.promised_date is not None:
        line.promised_date = decision.promised_date  # the promising engine's arrival date
    _promise(line)
    if decision.quantity <= 0:
        line.warehouse = None
        line.save()
        fl_set_status(line, FLS.BACKORDERED, reason="no warehouse has stock", step=ctx.step)
        return Wait(_recheck(ctx), event="stock.received")
    line.warehouse_id = decision.warehouse_id
    line.save()
    if decision.quantity < line.quantity:
        line_split(
            line=line,
            keep=decision.quantity,
            start_at=ctx.step.sequence,
            status=FLS.AWAITING_SCHEDULING,
            reason="partial sourcing: the rest waits for stock",
            step=ctx.step,
        )
    fl_set_status(line, FLS.SCHEDULED, step=ctx.step)
    return Done(f"{decision.mode} from warehouse {decision.warehouse_id}")


def schedule_undo(ctx: StepContext) -> None:
    line = ctx.line
    line.warehouse = None
    line.scheduled_ship_date = None
    line.save()
    if line.status != FLS.AWAITING_SCHEDULING:
        fl_set_status(line, FLS.AWAITING_SCHEDULING, reason="rescheduling", step=ctx.step)


# --- RESERVE --------------------------------------------------------------------------------


def reserve_run(ctx: StepContext) -> Done | Wait:
    line = ctx.line
    if _active_reservation(line) is None:
        if line.warehouse_id is None:
            raise ValidationFailed("The line has no warehouse: schedule it first.")
        try:
            line.reservation = _reserve(line, line.warehouse_id)
        except InsufficientStock:
            fl_set_status(line, FLS.BACKORDERED, reason="stock went to other orders", step=ctx.step)
            return Wait(_recheck(ctx), event="stock.received")
        line.save()
        fevent(
            "reserved",
            line=line,
            step=ctx.step,
            after={"reservation": line.reservation_id, "quantity": str(line.quantity)},
        )
    fl_set_status(line, FLS.RESERVED, step=ctx.step)
    return Done()


def reserve_undo(ctx: StepContext) -> None:
    line = ctx.line
    reservation = _active_reservation(line)
    if reservation is not None:
        reservation_release(reservation_ids=[reservation.pk])
        fevent(
            "compensation_reservation_released",
            line=line,
            step=ctx.step,
            before={"reservation": reservation.pk, "quantity": str(reservation.quantity)},
        )
    line.reservation = None
    line.save()
    if line.status in (FLS.RESERVED, FLS.AWAITING_SHIPPING):
        fl_set_status(line, FLS.SCHEDULED, reason="reservation released", step=ctx.step)


def reserve_update(ctx: StepContext) -> None:
    """The quantity changed: re-reserve the new quantity in the same warehouse (the surplus goes
    back to stock; the release and the new reservation commit together)."""
    line = ctx.line
    reservation = _active_reservation(line)
    if reservation is not None and reservation.quantity == line.quantity:
        return
    if reservation is None:
        # A channel that reserves at capture reserved the new revision's line already: use that.
        captured = _adopt_capture_reservation(line)
        if captured is not None:
            line.reservation = captured
            line.save()
            fevent(
                "compensation_reservation_adopted",
                line=line,
                step=ctx.step,
                after={"reservation": captured.pk},
            )
            return
    if reservation is not None:
        reservation_release(reservation_ids=[reservation.pk])
    warehouse_id = reservation.position.warehouse_id if reservation is not None else line.warehouse_id
    line.reservation = _reserve(line, warehouse_id)
    line.save()
    fevent(
        "compensation_reservation_updated",
        line=line,
        step=ctx.step,
        before={
            "reservation": reservation.pk if reservation else None,
            "quantity": str(reservation.quantity) if reservation else None,
        },
        after={"reservation": line.reservation_id, "quantity": str(line.quantity)},
    )


# --- shipment requests ----------------------------------------------------------------------


def open_shipment_line(line: FulfillmentLine) -> ShipmentLine | None:
    return (
        ShipmentLine.objects.select_related("shipment")
        .filter(fulfillment_line=line, shipment__status__in=SHIPMENT_CANCELABLE)
        .order_by("-pk")
        .first()
    )


def shipment_request_create(line: FulfillmentLine, *, key: str, warehouse_id: int) -> Shipment:
    """One requested shipment for the line (keyed: the same key never makes a second one)."""
    existing = Shipment.objects.filter(request_key=key).first()
    if existing is not None:
        return existing
    shipment = Shipment.objects.create(
        number=f"SH-{line.order_number.removeprefix('SO-')}-{line.pk}-{key.rsplit(':', 1)[-1]}",
        order=line.order,
        order_number=line.order_number,
        warehouse_id=warehouse_id,
        request_key=key,
    )
    ShipmentLine.objects.create(shipment=shipment, fulfillment_line=line, quantity_requested=line.quantity)
    from ..services.engine import publish_step_topic

    publish_step_topic(
        "shipment.requested",
        line,
        shipment=shipment.number,
        warehouse=shipment.warehouse.code,
        ship_to=line.order_line.ship_to or line.order.ship_to,
        lines=[{"fulfillment_line": line.pk, "sku": line.product.sku, "quantity": str(line.quantity)}],
    )
    return shipment


def shipment_request_run(ctx: StepContext) -> Done:
    line = ctx.line
    if open_shipment_line(line) is None:
        shipment = shipment_request_create(line, key=ctx.step.side_effect_key, warehouse_id=line.warehouse_id)
        fevent(
            "shipment_requested",
            line=line,
            step=ctx.step,
            after={"shipment": shipment.number, "quantity": str(line.quantity)},
        )
    fl_set_status(line, FLS.AWAITING_SHIPPING, step=ctx.step)
    return Done()


def shipment_cancel_open(line: FulfillmentLine, *, step=None, reason: str) -> None:
    from ..services.engine import publish_step_topic

    sl = open_shipment_line(line)
    if sl is None:
        return
    shipment = sl.shipment
    Shipment.objects.filter(pk=shipment.pk).update(status=ShipmentStatus.CANCELED, updated_at=timezone.now())
    fevent(
        "compensation_shipment_canceled",
        line=line,
        step=step,
        before={
            "shipment": shipment.number,
            "status": shipment.status,
            "quantity": str(sl.quantity_requested),
        },
        after={"status": ShipmentStatus.CANCELED},
        data={"reason": reason},
    )
    publish_step_topic("shipment.canceled", line, shipment=shipment.number, reason=reason)


def shipment_request_undo(ctx: StepContext) -> None:
    line = ctx.line
    shipment_cancel_open(line, step=ctx.step, reason="order changed")
    if line.status == FLS.AWAITING_SHIPPING:
        fl_set_status(
            line,
            FLS.RESERVED if _active_reservation(line) else FLS.SCHEDULED,
            reason="request canceled",
            step=ctx.step,
        )


def wait_for_shipment_run(ctx: StepContext) -> Done | Wait:
    line = ctx.line
    if line.status in FL_SHIPPED_OR_LATER:
        if line.status == FLS.SHIPPED:
            fl_set_status(line, FLS.AWAITING_BILLING, step=ctx.step)
        return Done()
    return Wait(_recheck(ctx), event="shipment.shipped")


# --- purchase requests (drop ship, back-to-back) --------------------------------------------


def _address(ship_to: dict) -> str:
    keys = ("name", "line1", "line2", "city", "region", "postcode", "country")
    return ", ".join(str(ship_to[k]) for k in keys if ship_to.get(k))


def purchase_request_run(ctx: StepContext) -> Done:
    line = ctx.line
    po = line.purchase_order
    if po is None or po.status == PurchaseOrderStatus.CANCELED:
        supply = ProductSupply.objects.filter(product_id=line.product_id).select_related("supplier").first()
        supplier_id = (supply.supplier_id if supply else None) or line.product.primary_supplier_id
        if supplier_id is None:
            raise ValidationFailed(f"No supplier for {line.product.sku}.")
        drop_ship = line.mode == FulfillmentMode.DROP_SHIP
        po = purchase_order_create(
            supplier_id=supplier_id,
            warehouse_id=line.warehouse_id,
            lines=[PurchaseLineInput(product_id=line.product_id, quantity=line.quantity)],
            lead_time_days=supply.lead_time_days if supply else 7,
            kind=PurchaseOrderKind.DROP_SHIP if drop_ship else PurchaseOrderKind.BACK_TO_BACK,
            demand_type=DEMAND_TYPE,
            demand_id=str(line.pk),
            ship_to=_address(line.order_line.ship_to or line.order.ship_to) if drop_ship else "",
            currency=line.order.currency,
        )
        for target in (PurchaseOrderStatus.APPROVED, PurchaseOrderStatus.SENT):
            purchase_order_transition(purchase_order_id=po.pk, target=target, note=f"for {line.order_number}")
        line.purchase_order = po
        line.save()
        fevent(
            "purchase_requested",
            line=line,
            step=ctx.step,
            after={"purchase_order": po.number, "kind": po.kind},
        )
        if not drop_ship:
            # The receipt reserves for this demand (inventory's back-order reservation on receipt).
            backorder_create(
                demand_type=DEMAND_TYPE,
                demand_id=str(line.pk),
                product_id=line.product_id,
                quantity=line.quantity,
                warehouse_id=line.warehouse_id,
                demand_class=line.order.demand_class,
                need_date=line.scheduled_ship_date,
            )
    if line.mode == FulfillmentMode.DROP_SHIP:
        # The supplier ships; its advice comes in against this request like a warehouse's.
        if open_shipment_line(line) is None:
            shipment_request_create(line, key=ctx.step.side_effect_key, warehouse_id=line.warehouse_id)
        fl_set_status(line, FLS.AWAITING_SHIPPING, step=ctx.step)
    else:
        fl_set_status(line, FLS.BACKORDERED, reason=f"back-to-back {po.number}", step=ctx.step)
    return Done()


def purchase_request_undo(ctx: StepContext) -> None:
    line = ctx.line
    po = line.purchase_order
    if po is not None and po.status in (
        PurchaseOrderStatus.DRAFT,
        PurchaseOrderStatus.APPROVED,
        PurchaseOrderStatus.SENT,
    ):
        purchase_order_transition(
            purchase_order_id=po.pk, target=PurchaseOrderStatus.CANCELED, note="order changed"
        )
        fevent(
            "compensation_purchase_canceled", line=line, step=ctx.step, before={"purchase_order": po.number}
        )
    for demand_id in Demand.objects.filter(
        demand_type=DEMAND_TYPE, demand_id=str(line.pk), status=DemandStatus.OPEN
    ).values_list("pk", flat=True):
        backorder_cancel(demand_id=demand_id)
    shipment_cancel_open(line, step=ctx.step, reason="purchase request canceled")
    line.purchase_order = None
    line.save()
    if line.status in (FLS.AWAITING_SHIPPING, FLS.BACKORDERED):
        fl_set_status(line, FLS.SCHEDULED, reason="purchase request canceled", step=ctx.step)


def wait_for_receipt_run(ctx: StepContext) -> Done | Wait:
    line = ctx.line
    if _active_reservation(line) is None:
        demand = Demand.objects.filter(
            demand_type=DEMAND_TYPE,
            demand_id=str(line.pk),
            status=DemandStatus.RESERVED,
            reservation__isnull=False,
        ).first()
        if demand is None:
            return Wait(_recheck(ctx), event="stock.received")
        line.reservation_id = demand.reservation_id
        line.save()
        fevent("receipt_reserved", line=line, step=ctx.step, after={"reservation": demand.reservation_id})
    fl_set_status(line, FLS.RESERVED, step=ctx.step)
    return Done()


# --- TRANSFER, PAUSE ------------------------------------------------------------------------


def transfer_run(ctx: StepContext) -> Done:
    line, target = ctx.line, ctx.definition.target_warehouse_id
    reservation = _active_reservation(line)
    if target and reservation is not None and line.warehouse_id != target:
        reservation_move(reservation_id=reservation.pk, warehouse_id=target)
        fevent(
            "reservation_moved",
            line=line,
            step=ctx.step,
            before={"warehouse": line.warehouse_id},
            after={"warehouse": target},
        )
        line.warehouse_id = target
        line.save()
    return Done()


def _all_lines_shipped(line: FulfillmentLine) -> bool:
    return not (
        FulfillmentLine.objects.filter(order_number=line.order_number)
        .exclude(status__in=[*FL_SHIPPED_OR_LATER, FLS.CANCELED])
        .exists()
    )


def pause_run(ctx: StepContext) -> Done | Wait:
    step = ctx.step
    if ctx.definition.pause_event == PauseEvent.ALL_LINES_SHIPPED:
        return (
            Done()
            if _all_lines_shipped(ctx.line)
            else Wait(_recheck(ctx), event=PauseEvent.ALL_LINES_SHIPPED)
        )
    if step.wake_at is not None and step.wake_at <= ctx.now:
        return Done()  # woken by the beat scan
    anchor_date = ctx.line.scheduled_ship_date or timezone.localdate()
    anchor = timezone.make_aware(datetime.combine(anchor_date, time.min))
    wake_at = anchor + timedelta(hours=ctx.definition.pause_offset_hours)
    return Done() if wake_at <= ctx.now else Wait(wake_at)


# --- INVOICE, WAIT_FOR_PAYMENT, CLOSE ------------------------------------------------------


def invoice_run(ctx: StepContext) -> Done:
    from billing.services import BillLine, invoice_create

    line = ctx.line
    quantity = line.shipped_quantity - line.billed_quantity
    if quantity > 0:
        invoice = invoice_create(
            order_id=line.order_id,
            lines=[
                BillLine(order_line_id=line.order_line_id, quantity=quantity, fulfillment_ref=f"fl:{line.pk}")
            ],
            request_key=ctx.step.side_effect_key,
        )
        line.billed_quantity += quantity
        line.save()
        fevent(
            "invoiced",
            line=line,
            step=ctx.step,
            after={"invoice": invoice.number, "total": str(invoice.total)},
        )
        fl_set_status(line, FLS.BILLED, step=ctx.step)
        return Done(invoice.number)
    return Done("nothing to bill")


def wait_for_payment_run(ctx: StepContext) -> Done | Wait:
    from billing.models import Invoice
    from billing.states import InvoiceStatus

    unpaid = Invoice.objects.filter(lines__fulfillment_ref=f"fl:{ctx.line.pk}").exclude(
        status__in=[InvoiceStatus.PAID, InvoiceStatus.VOID]
    )
    return Wait(_recheck(ctx), event="invoice.paid") if unpaid.exists() else Done()


def capture_payment_run(ctx: StepContext) -> Done | Wait:
    """Capture at shipment: each invoice of this line is captured from the order's card or PayPal
    authorization (a partial capture per shipment; the capture that completes the order's billing
    is final and releases the rest). The step run's key makes the capture exactly-once; a capture
    still without an answer waits for the reconciliation. Orders paid otherwise (offline, prepaid)
    are left to WAIT_FOR_PAYMENT; an order without a live authorization is put on payment hold."""
    from billing.models import Invoice, Payment
    from billing.services.payments import hold_for_missing_authorization, payment_capture
    from billing.states import GATEWAY_METHODS, InvoiceStatus, OperationStatus, PaymentStatus

    line = ctx.line
    invoices = list(
        Invoice.objects.filter(lines__fulfillment_ref=f"fl:{line.pk}", status=InvoiceStatus.ISSUED)
        .distinct()
        .order_by("pk")
    )
    payments = Payment.objects.filter(order_id=line.order_id, method__in=GATEWAY_METHODS)
    if not invoices or not payments.exists():
        return Done("nothing to capture")
    notes = []
    for invoice in invoices:
        if invoice.open_amount <= 0:
            continue
        live = payments.filter(status__in=[PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED]).order_by("pk")
        payment = next((p for p in live if p.capturable > 0), None)
        if payment is None:
            hold_for_missing_authorization(order_id=line.order_id)
            return Wait(_recheck(ctx), event="payment.authorized")
        amount = min(invoice.open_amount, payment.capturable)
        final = (
            amount == payment.capturable
            or not line.order.lines.exclude(status="canceled")
            .exclude(billed_quantity__gte=F("quantity"))
            .exists()
        )
        op = payment_capture(
            payment_id=payment.pk,
            amount=amount,
            key=f"{ctx.step.side_effect_key}:inv{invoice.pk}",
            invoice_id=invoice.pk,
            final=final,
        )
        if op.status == OperationStatus.UNKNOWN:
            return Wait(_recheck(ctx), event="payment.captured")
        if op.status == OperationStatus.FAILED:
            hold_for_missing_authorization(order_id=line.order_id)
            return Wait(_recheck(ctx), event="payment.authorized")
        fevent(
            "payment_captured",
            line=line,
            step=ctx.step,
            after={"invoice": invoice.number, "amount": str(amount)},
        )
        notes.append(f"{invoice.number}: {amount}")
    return Done(", ".join(notes))


def close_run(ctx: StepContext) -> Done:
    from orders.services.fulfillment_updates import line_fulfillment_progress

    line = ctx.line
    fl_set_status(line, FLS.CLOSED, step=ctx.step)
    siblings_open = (
        FulfillmentLine.objects.filter(order_number=line.order_number, source_line_id=line.source_line_id)
        .exclude(status__in=[FLS.CLOSED, FLS.CANCELED])
        .exists()
    )
    if not siblings_open:
        line_fulfillment_progress(line_id=line.order_line_id, closed=True, reference="fulfillment closed")
    return Done()


register(
    TaskType.SCHEDULE,
    StepType(
        schedule_run,
        undo=schedule_undo,
        hold_scope=HoldScope.SCHEDULING,
        affected_by=frozenset({SHIP_TO, RESOURCE}),
    ),
)
register(
    TaskType.RESERVE,
    StepType(
        reserve_run,
        undo=reserve_undo,
        update=reserve_update,
        hold_scope=HoldScope.SCHEDULING,
        affected_by=frozenset({QUANTITY, RESERVATION_LOST, RESOURCE}),
    ),
)
register(
    TaskType.CREATE_SHIPMENT_REQUEST,
    StepType(
        shipment_request_run,
        undo=shipment_request_undo,
        hold_scope=HoldScope.SHIPPING,
        affected_by=frozenset({QUANTITY, SHIP_TO, RESOURCE}),
    ),
)
register(TaskType.WAIT_FOR_SHIPMENT, StepType(wait_for_shipment_run, hold_scope=HoldScope.SHIPPING))
register(
    TaskType.CREATE_PURCHASE_REQUEST,
    StepType(
        purchase_request_run,
        undo=purchase_request_undo,
        hold_scope=HoldScope.SHIPPING,
        affected_by=frozenset({QUANTITY, SHIP_TO, RESOURCE}),
    ),
)
register(
    TaskType.WAIT_FOR_RECEIPT,
    StepType(
        wait_for_receipt_run,
        undo=reserve_undo,
        hold_scope=HoldScope.SHIPPING,
        affected_by=frozenset({QUANTITY, RESOURCE}),
    ),
)
register(TaskType.TRANSFER, StepType(transfer_run, hold_scope=HoldScope.SCHEDULING))
register(TaskType.PAUSE, StepType(pause_run))
register(TaskType.INVOICE, StepType(invoice_run, hold_scope=HoldScope.BILLING))
register(TaskType.CAPTURE_PAYMENT, StepType(capture_payment_run, hold_scope=HoldScope.BILLING))
register(TaskType.WAIT_FOR_PAYMENT, StepType(wait_for_payment_run, hold_scope=HoldScope.BILLING))
register(TaskType.CLOSE, StepType(close_run, hold_scope=HoldScope.ALL))

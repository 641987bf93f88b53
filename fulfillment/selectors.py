"""Reads for fulfillment: an order's fulfillment plan, steps needing attention, shipments to send."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from oms.kernel.exceptions import NotFound
from orders.selectors import orders_visible_to

from .models import FulfillmentLine, Shipment, ShipmentLine, StepInstance
from .states import ProcessStatus, ShipmentStatus, StepStatus

OPEN_SHIPMENT_STATUSES = (ShipmentStatus.REQUESTED, ShipmentStatus.PICKED, ShipmentStatus.PACKED)


def order_fulfillment(*, viewer, number: str) -> list[FulfillmentLine]:
    """The order's fulfillment lines with their process plan, in a constant number of queries.
    Scoped like the order itself (another channel's order is a 404)."""
    if not orders_visible_to(viewer).filter(number=number).exists():
        raise NotFound("No such order.")
    return list(
        FulfillmentLine.objects.filter(order_number=number)
        .select_related("product", "warehouse", "process", "process__definition", "purchase_order")
        .prefetch_related(
            Prefetch(
                "process__steps",
                queryset=StepInstance.objects.select_related("step_definition").order_by("sequence"),
            ),
            Prefetch(
                "shipment_lines", queryset=ShipmentLine.objects.select_related("shipment").order_by("pk")
            ),
        )
        .order_by("source_line_id", "pk")
    )


def steps_needing_attention() -> QuerySet[StepInstance]:
    return (
        StepInstance.objects.filter(status=StepStatus.FAILED, process__status=ProcessStatus.NEEDS_ATTENTION)
        .select_related("process__fulfillment_line", "step_definition")
        .order_by("updated_at")
    )


def shipments_to_confirm(*, warehouse: str = "", order: str = "") -> QuerySet[Shipment]:
    """Shipments a warehouse still has to send (requested, picked or packed), oldest first, with
    their lines and products (a constant number of queries for a page)."""
    qs = (
        Shipment.objects.filter(status__in=OPEN_SHIPMENT_STATUSES)
        .select_related("warehouse", "order__customer")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("fulfillment_line__product__uom").order_by("pk"),
            )
        )
        .order_by("requested_at", "pk")
    )
    if warehouse:
        qs = qs.filter(warehouse__code=warehouse)
    if order:
        qs = qs.filter(order_number__iexact=order.strip())
    return qs


def shipment_for_confirmation(*, number: str) -> Shipment:
    shipment = (
        Shipment.objects.select_related("warehouse", "order__customer")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("fulfillment_line__product__uom").order_by("pk"),
            )
        )
        .filter(number=number)
        .first()
    )
    if shipment is None:
        raise NotFound("No such shipment.")
    return shipment

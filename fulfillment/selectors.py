"""Reads for fulfillment: an order's fulfillment plan, steps needing attention, shipments to send."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Prefetch, QuerySet, Value, When

from oms.kernel.exceptions import NotFound
from orders.selectors import orders_visible_to

from .models import FulfillmentLine, JeopardyAlert, ProcessInstance, Shipment, ShipmentLine, StepInstance
from .states import PRIORITY_RANK, JeopardyPriority, ProcessStatus, ShipmentStatus, StepStatus

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


# --- jeopardy -------------------------------------------------------------------------------


def alerts_visible_to(viewer) -> QuerySet[JeopardyAlert]:
    """Alerts on orders the viewer may see: a channel key its own channel's, staff who view
    orders all of them, anyone else none (another channel's alert is a 404)."""
    return JeopardyAlert.objects.filter(order__in=orders_visible_to(viewer))


def alert_queryset(*, viewer, unscoped: bool = False) -> QuerySet[JeopardyAlert]:
    """The alert queue, worst first, with what a list shows (a constant number of queries)."""
    qs = JeopardyAlert.objects.all() if unscoped else alerts_visible_to(viewer)
    rank = Case(
        *[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()], output_field=IntegerField()
    )
    return (
        qs.select_related(
            "channel", "assigned_to", "fulfillment_line__warehouse", "fulfillment_line__product", "step"
        )
        .annotate(priority_rank=rank)
        .order_by("-priority_rank", "-score", "-raised_at", "-pk")
    )


def alert_list(*, viewer, filters: Mapping[str, Any] | None = None) -> QuerySet[JeopardyAlert]:
    """The alert queue filtered (fulfillment.filters.JeopardyAlertFilter), worst first."""
    from .filters import JeopardyAlertFilter

    return JeopardyAlertFilter(filters or {}, queryset=alert_queryset(viewer=viewer)).qs


@dataclass(frozen=True)
class JeopardySummary:
    """An order's jeopardy: the worst of its open lines' processes."""

    order_id: int
    score: int
    priority: str
    reason: str
    process_id: int | None
    expected_end: datetime | None
    required_end: datetime | None


def _worst_by_order(order_ids: Iterable[int]) -> dict[int, JeopardySummary]:
    rank = Case(
        *[When(jeopardy_priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
        output_field=IntegerField(),
    )
    rows = (
        ProcessInstance.objects.filter(fulfillment_line__order_id__in=list(order_ids))
        .exclude(status__in=[ProcessStatus.COMPLETED, ProcessStatus.CANCELED])
        .annotate(rank=rank, order_id=F("fulfillment_line__order_id"))
        .order_by("order_id", "-rank", "-jeopardy_score", "pk")
        .values_list(
            "order_id",
            "jeopardy_score",
            "jeopardy_priority",
            "jeopardy_reason",
            "pk",
            "expected_end",
            "required_end",
        )
    )
    out: dict[int, JeopardySummary] = {}
    for order_id, score, priority, reason, pk, expected, required in rows:
        if order_id not in out:
            out[order_id] = JeopardySummary(order_id, score, priority, reason, pk, expected, required)
    return out


def orders_jeopardy(*, order_ids: Iterable[int]) -> dict[int, JeopardySummary]:
    """Worst jeopardy per order, one query whatever the number of orders; an order without an
    open process is on time (absent from the dict: use `order_jeopardy` for a default)."""
    return _worst_by_order(order_ids)


def order_jeopardy(*, order_id: int) -> JeopardySummary:
    """An order carries the worst of its lines (on time when none is open)."""
    found = _worst_by_order([order_id]).get(order_id)
    return found or JeopardySummary(order_id, 0, JeopardyPriority.ON_TIME, "", None, None, None)

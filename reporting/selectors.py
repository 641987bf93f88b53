"""Reads for the dashboard, the exception workbench and the customer screens. Reporting is the top
layer: it may read every app, and writes nothing. Every function here runs a fixed number of
queries, whatever the number of rows (the UI tests pin them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from customers.models import Customer
from fulfillment.models import FulfillmentEvent, Shipment, ShipmentLine, StepInstance
from fulfillment.selectors import order_fulfillment, steps_needing_attention
from inventory.models import Demand, PurchaseOrder, StockPosition
from inventory.selectors import low_stock_positions
from inventory.states import DemandStatus
from orders.models import COMPLIANCE_HOLD, CREDIT_HOLD, OrderHold, SalesOrder
from orders.selectors import order_list
from orders.states import OrderStatus
from partners.models import WebhookDelivery, WebhookDeliveryStatus

# A delivery that has failed this many times is shown before it gives up.
WEBHOOK_STRUGGLING_ATTEMPTS = 3


# --- dashboard -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelDay:
    channel: str
    currency: str
    orders: int
    revenue: Decimal


def orders_today_by_channel(*, today: date | None = None) -> list[ChannelDay]:
    today = today or timezone.localdate()
    rows = (
        SalesOrder.objects.filter(is_current=True, created_at__date=today)
        .exclude(status=OrderStatus.CANCELED)
        .values("channel__code", "currency")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by("channel__code", "currency")
    )
    return [
        ChannelDay(r["channel__code"], r["currency"], r["orders"], r["revenue"] or Decimal(0)) for r in rows
    ]


def orders_per_day(*, days: int = 14, today: date | None = None) -> list[tuple[date, int]]:
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    counts = dict(
        SalesOrder.objects.filter(is_current=True, created_at__date__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def exception_counts() -> dict[str, int]:
    """Open exceptions by kind, for the dashboard and the workbench tabs."""
    holds = dict(
        OrderHold.objects.filter(released_at__isnull=True, order__is_current=True)
        .values("hold_code__code")
        .annotate(n=Count("id"))
        .values_list("hold_code__code", "n")
    )
    return {
        "holds": sum(holds.values()),
        "credit": holds.get(CREDIT_HOLD, 0),
        "compliance": holds.get(COMPLIANCE_HOLD, 0),
        "approvals": SalesOrder.objects.filter(is_current=True, status=OrderStatus.PENDING_APPROVAL).count(),
        "backorders": Demand.objects.filter(status=DemandStatus.OPEN).count(),
        "webhooks": webhook_problems().count(),
        "steps": steps_needing_attention().count(),
    }


def holds_by_code() -> list[tuple[str, int]]:
    return list(
        OrderHold.objects.filter(released_at__isnull=True, order__is_current=True)
        .values("hold_code__code")
        .annotate(n=Count("id"))
        .order_by("-n", "hold_code__code")
        .values_list("hold_code__code", "n")
    )


def low_stock(*, limit: int = 10) -> list[StockPosition]:
    return list(low_stock_positions()[:limit])


# --- workbench panels ------------------------------------------------------------------------------


def active_holds(*, code: str = "") -> QuerySet[OrderHold]:
    """Active holds of current orders, oldest first (one code's, for the credit and compliance
    queues; the holds queue's filters are `orders.filters.OrderHoldFilter`)."""
    qs = (
        OrderHold.objects.filter(released_at__isnull=True, order__is_current=True)
        .select_related("hold_code", "order", "order__customer", "order__channel", "line")
        .order_by("applied_at", "id")
    )
    return qs.filter(hold_code__code=code) if code else qs


def approval_queue() -> QuerySet[SalesOrder]:
    return (
        SalesOrder.objects.filter(is_current=True, status=OrderStatus.PENDING_APPROVAL)
        .select_related("customer", "channel")
        .order_by("priority", "created_at", "id")
    )


def open_backorders() -> QuerySet[Demand]:
    """Open back-orders, soonest need first (filters: `inventory.filters.BackorderFilter`)."""
    return (
        Demand.objects.filter(status=DemandStatus.OPEN)
        .select_related("product", "warehouse", "product__primary_supplier")
        .order_by("need_date", "created_at", "id")
    )


def webhook_problems() -> QuerySet[WebhookDelivery]:
    """Deliveries that gave up, or keep failing and are still retrying."""
    return (
        WebhookDelivery.objects.filter(
            Q(status=WebhookDeliveryStatus.FAILED)
            | Q(status=WebhookDeliveryStatus.PENDING, attempts__gte=WEBHOOK_STRUGGLING_ATTEMPTS)
        )
        .select_related("endpoint", "endpoint__channel")
        .order_by("-created_at", "-id")
    )


def exceptions_by_customer(*, limit: int = 10) -> list[dict[str, Any]]:
    return list(
        SalesOrder.objects.filter(is_current=True)
        .filter(
            Q(status=OrderStatus.PENDING_APPROVAL) | Q(holds__released_at__isnull=True, holds__isnull=False)
        )
        .values("customer__account_number", "customer__name")
        .annotate(orders=Count("id", distinct=True), value=Sum("total"))
        .order_by("-orders", "customer__account_number")[:limit]
    )


def backorders_by(*, field: str, limit: int = 10) -> list[dict[str, Any]]:
    """Open back-orders summed by product, supplier or warehouse."""
    group = {
        "product": ("product__sku", "product__name"),
        "supplier": ("product__primary_supplier__code", "product__primary_supplier__name"),
        "warehouse": ("warehouse__code", "warehouse__name"),
    }[field]
    rows = (
        Demand.objects.filter(status=DemandStatus.OPEN)
        .values(*group)
        .annotate(lines=Count("id"), quantity=Sum("quantity"), oldest=Max("created_at"))
        .order_by("-quantity", group[0])[:limit]
    )
    return [{"key": r[group[0]] or "—", "name": r[group[1]] or "", **r} for r in rows]


# --- customers -------------------------------------------------------------------------------------


def customer_list() -> QuerySet[Customer]:
    """Customers with their order count and last order (the filters are
    `customers.filters.CustomerFilter`)."""
    qs = Customer.objects.order_by("name", "id")
    # Orders point at customers with no reverse accessor: count them in correlated subqueries.
    orders = SalesOrder.objects.filter(customer_id=OuterRef("pk"), is_current=True)
    return qs.annotate(
        order_count=Coalesce(
            Subquery(orders.order_by().values("customer_id").annotate(n=Count("id")).values("n")[:1]), 0
        ),
        last_order_at=Subquery(orders.order_by("-created_at").values("created_at")[:1]),
    )


def customer_sales_history(*, customer_id: int) -> QuerySet[SalesOrder]:
    return (
        SalesOrder.objects.filter(customer_id=customer_id, is_current=True)
        .select_related("channel")
        .order_by("-created_at", "-id")
    )


def open_purchase_orders_count() -> int:
    return PurchaseOrder.objects.exclude(status__in=["received", "closed", "canceled"]).count()


def order_search(*, viewer) -> QuerySet[SalesOrder]:
    """The order list screen's rows, scoped to the viewer (the filters are
    `orders.filters.OrderFilter`); no per-row prefetch (the list shows header fields only)."""
    qs = order_list(viewer=viewer).prefetch_related(None).select_related("customer", "channel")
    active_holds_ = OrderHold.objects.filter(order_id=OuterRef("pk"), released_at__isnull=True)
    return qs.annotate(
        active_hold_count=Coalesce(
            Subquery(active_holds_.order_by().values("order_id").annotate(n=Count("id")).values("n")[:1]), 0
        )
    )


# --- fulfillment and billing of one order (read on the order detail page) -------------------------


@dataclass(frozen=True)
class OrderExecution:
    lines: list[Any]  # fulfillment lines with their process plan and shipment lines
    shipments: list[Any]
    invoices: list[Any]
    events: list[Any]  # fulfillment's own audit rows (steps, shipments), newest last


def order_execution(*, viewer, number: str) -> OrderExecution:
    """Fulfillment lines (process steps planned vs actual), shipments with tracking and invoices,
    in a fixed number of queries. Scoped like the order (fulfillment's selector checks)."""
    lines = order_fulfillment(viewer=viewer, number=number)
    shipments = list(
        Shipment.objects.filter(order_number=number)
        .select_related("warehouse")
        .prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("fulfillment_line__product"))
        )
        .order_by("requested_at", "pk")
    )
    invoices = list(
        Invoice.objects.filter(order_number=number)
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.select_related("order_line__product"))
        )
        .order_by("created_at", "pk")
    )
    events = list(
        FulfillmentEvent.objects.filter(order_number=number)
        .select_related("fulfillment_line", "step__step_definition")
        .order_by("pk")
    )
    return OrderExecution(lines=lines, shipments=shipments, invoices=invoices, events=events)


def failed_steps() -> QuerySet[StepInstance]:
    """Parked steps (failed after their retries) waiting for a person: retry or skip."""
    return steps_needing_attention().select_related(
        "process__fulfillment_line__product", "process__fulfillment_line__warehouse"
    )

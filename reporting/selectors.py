"""Reads for the dashboard, the exception workbench and the customer screens. Reporting is the top
layer: it may read every app, and writes nothing. Every function here runs a fixed number of
queries, whatever the number of rows (the UI tests pin them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from customers.models import Customer
from fulfillment.models import (
    FulfillmentEvent,
    FulfillmentLine,
    JeopardyAlert,
    Shipment,
    ShipmentLine,
    StepInstance,
)
from fulfillment.selectors import order_fulfillment, steps_needing_attention
from fulfillment.states import (
    ALERT_UNRESOLVED,
    PRIORITY_RANK,
    STEP_ACTIVE,
    FulfillmentLineStatus,
    JeopardyPriority,
)
from fulfillment.timeline import describe_event
from inventory.models import Demand, PurchaseOrder, StockPosition
from inventory.selectors import low_stock_positions
from inventory.states import DemandStatus
from orders.models import COMPLIANCE_HOLD, CREDIT_HOLD, OrderHold, OrderLine, SalesOrder
from orders.selectors import order_list
from orders.states import OrderStatus
from partners.models import WebhookDelivery, WebhookDeliveryStatus

# The demand types orders and fulfillment give inventory (opaque references there).
ORDER_LINE_DEMAND, FULFILLMENT_LINE_DEMAND = "order_line", "fulfillment_line"

# Alert priorities, worst first (an alert is never "on time").
ALERT_PRIORITIES = tuple(
    p.value for p in (JeopardyPriority.HIGH, JeopardyPriority.MEDIUM, JeopardyPriority.LOW)
)

# A delivery that has failed this many times is shown before it gives up.
WEBHOOK_STRUGGLING_ATTEMPTS = 3


# --- dashboard -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelDay:
    channel: str
    currency: str
    orders: int
    revenue: Decimal
    channel_name: str = ""
    other_currencies: bool = False  # the channel sold in more than one currency today


def orders_today_by_channel(*, today: date | None = None) -> list[ChannelDay]:
    today = today or timezone.localdate()
    rows = (
        SalesOrder.objects.filter(is_current=True, created_at__date=today)
        .exclude(status=OrderStatus.CANCELED)
        .values("channel__code", "channel__name", "currency")
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by("channel__code", "currency")
    )
    rows = list(rows)
    codes = [r["channel__code"] for r in rows]
    return [
        ChannelDay(
            r["channel__code"],
            r["currency"],
            r["orders"],
            r["revenue"] or Decimal(0),
            r["channel__name"] or r["channel__code"],
            codes.count(r["channel__code"]) > 1,
        )
        for r in rows
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


def _holds_by_code() -> dict[str, int]:
    return dict(
        OrderHold.objects.filter(released_at__isnull=True, order__is_current=True)
        .values("hold_code__code")
        .annotate(n=Count("id"))
        .order_by("hold_code__code")
        .values_list("hold_code__code", "n")
    )


def _jeopardy_by_priority() -> dict[str, int]:
    """Unresolved jeopardy alerts per priority (high, medium, low; every one present)."""
    found = dict(
        JeopardyAlert.objects.filter(status__in=ALERT_UNRESOLVED)
        .values("priority")
        .annotate(n=Count("id"))
        .order_by("priority")
        .values_list("priority", "n")
    )
    return {p: found.get(p, 0) for p in ALERT_PRIORITIES}


def exception_counts() -> dict[str, int]:
    """Open exceptions by kind (one count per queue), for the dashboard and the workbench tabs."""
    holds = _holds_by_code()
    return {
        "jeopardy": JeopardyAlert.objects.filter(status__in=ALERT_UNRESOLVED).count(),
        "holds": sum(holds.values()),
        "credit": holds.get(CREDIT_HOLD, 0),
        "compliance": holds.get(COMPLIANCE_HOLD, 0),
        "approvals": SalesOrder.objects.filter(is_current=True, status=OrderStatus.PENDING_APPROVAL).count(),
        "backorders": Demand.objects.filter(status=DemandStatus.OPEN).count(),
        "webhooks": webhook_problems().count(),
        "steps": steps_needing_attention().count(),
        "unscheduled": FulfillmentLine.objects.filter(
            status=FulfillmentLineStatus.AWAITING_SCHEDULING
        ).count(),
    }


def jeopardy_by_priority() -> dict[str, int]:
    """The jeopardy tab's split: unresolved alerts per priority (high, medium, low)."""
    return _jeopardy_by_priority()


def exception_summary() -> dict[str, Any]:
    """The workbench's queue counts for other tools (`GET /api/v1/exceptions/summary`): the same
    figures the tabs show, with jeopardy by priority and holds by hold code."""
    holds = _holds_by_code()
    jeopardy = _jeopardy_by_priority()
    return {
        "jeopardy": {"total": sum(jeopardy.values()), "by_priority": jeopardy},
        "holds": {"total": sum(holds.values()), "by_code": holds},
        "failed_steps": steps_needing_attention().count(),
        "backorders": Demand.objects.filter(status=DemandStatus.OPEN).count(),
        "unscheduled": FulfillmentLine.objects.filter(
            status=FulfillmentLineStatus.AWAITING_SCHEDULING
        ).count(),
        "generated_at": timezone.now(),
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
    queues; the filters are `reporting.filters.HoldQueueFilter`)."""
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
    """Open back-orders, soonest need first (filters: `reporting.filters.BackorderQueueFilter`); an
    order line's demand carries its order's number and line number (`order_number`,
    `order_line_number`) so people see the order, not "order_line 56"."""

    def ref(kind: str) -> Case:
        # The id only where the demand is of that kind and numeric: other kinds' ids are never cast.
        when = When(demand_type=kind, demand_id__regex=r"^[0-9]+$", then=Cast("demand_id", BigIntegerField()))
        return Case(when, default=None, output_field=BigIntegerField())

    line = OrderLine.objects.filter(pk=OuterRef("line_ref"))
    fline = FulfillmentLine.objects.filter(pk=OuterRef("fline_ref"))
    return (
        Demand.objects.filter(status=DemandStatus.OPEN)
        .select_related("product", "product__uom", "warehouse", "product__primary_supplier")
        .annotate(line_ref=ref(ORDER_LINE_DEMAND), fline_ref=ref(FULFILLMENT_LINE_DEMAND))
        .annotate(
            order_number=Coalesce(
                Subquery(line.values("order__number")[:1]), Subquery(fline.values("order_number")[:1])
            ),
            order_line_number=Coalesce(
                Subquery(line.values("line_number")[:1]),
                Subquery(fline.values("order_line__line_number")[:1]),
            ),
        )
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
    for event in events:  # the timeline in words, not codes and dicts
        described = describe_event(event.kind, before=event.before, after=event.after, data=event.data)
        event.sentence, event.change_text = described.sentence, described.change
    return OrderExecution(lines=lines, shipments=shipments, invoices=invoices, events=events)


def jeopardy_queue() -> QuerySet[JeopardyAlert]:
    """Unresolved jeopardy alerts, worst first (priority, then score, then the oldest), with what
    a row shows in a fixed number of queries (filters: `reporting.filters.JeopardyQueueFilter`)."""
    rank = Case(
        *[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()], output_field=IntegerField()
    )
    return (
        JeopardyAlert.objects.filter(status__in=ALERT_UNRESOLVED)
        .select_related(
            "order__customer",
            "channel",
            "assigned_to",
            "process__definition",
            "step__step_definition",
            "fulfillment_line__product",
            "fulfillment_line__warehouse",
        )
        .annotate(priority_rank=rank)
        .order_by("-priority_rank", "-score", "raised_at", "pk")
    )


def failed_steps() -> QuerySet[StepInstance]:
    """Parked steps (failed after their retries) waiting for a person: retry or skip (filters:
    `reporting.filters.FailedStepFilter`)."""
    return steps_needing_attention().select_related(
        "process__definition",
        "process__fulfillment_line__product",
        "process__fulfillment_line__warehouse",
        "process__fulfillment_line__order__customer",
        "process__fulfillment_line__order__channel",
    )


def unscheduled_lines() -> QuerySet[FulfillmentLine]:
    """Open fulfillment lines that no warehouse or supplier has been chosen for yet, oldest first,
    with the step that stands in the way (held by an order hold, failed, or waiting) and why
    (filters: `reporting.filters.UnscheduledLineFilter`)."""
    blocking = StepInstance.objects.filter(
        process__fulfillment_line_id=OuterRef("pk"), status__in=STEP_ACTIVE
    ).order_by("sequence")
    return (
        FulfillmentLine.objects.filter(status=FulfillmentLineStatus.AWAITING_SCHEDULING)
        .select_related("product", "warehouse", "order__customer", "order__channel", "process__definition")
        .annotate(
            blocking_step=Subquery(blocking.values("step_definition__name")[:1]),
            blocking_status=Subquery(blocking.values("status")[:1]),
            blocking_error=Subquery(blocking.values("last_error")[:1]),
        )
        .order_by("created_at", "pk")
    )


def queue_groups(
    queryset: QuerySet, paths: tuple[str, str], *, limit: int = 20
) -> list[tuple[str, str, int]]:
    """A queue's filtered rows counted by one thing (customer, warehouse, ...), in one query: the
    side table of "Group by". A row reached through a many-valued path counts once per value."""
    key, name = paths
    rows = (
        queryset.order_by()
        .values(key, name)
        .annotate(n=Count("pk", distinct=True))
        .order_by("-n", key)[:limit]
    )
    return [(r[key] or "—", r[name] or "", r["n"]) for r in rows]


# --- workbench side summaries: each queue sums its own rows -------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One side table of a workbench queue: its own rows grouped by one thing."""

    title: str
    key_label: str
    value_label: str
    rows: list[tuple[str, str, Any]]  # key, detail (e.g. a name), value


def held_by(*, field: str, code: str = "", limit: int = 10) -> list[tuple[str, str, Any]]:
    """Orders on an active hold (of one code, or any) by customer or by hold code."""
    group = {
        "customer": ("order__customer__account_number", "order__customer__name"),
        "code": ("hold_code__code", "hold_code__name"),
    }[field]
    qs = OrderHold.objects.filter(released_at__isnull=True, order__is_current=True)
    if code:
        qs = qs.filter(hold_code__code=code)
    rows = qs.values(*group).annotate(n=Count("order_id", distinct=True)).order_by("-n", group[0])[:limit]
    return [(r[group[0]] or "consumer", r[group[1]] or "", r["n"]) for r in rows]


def approvals_by(*, field: str, limit: int = 10) -> list[tuple[str, str, Any]]:
    """Orders waiting for approval by customer or by channel, with their value per currency."""
    group = {
        "customer": ("customer__account_number", "customer__name"),
        "channel": ("channel__code", "channel__name"),
    }[field]
    rows = (
        SalesOrder.objects.filter(is_current=True, status=OrderStatus.PENDING_APPROVAL)
        .values(*group, "currency")
        .annotate(n=Count("id"), value=Sum("total"))
        .order_by("-value", group[0])[:limit]
    )
    return [
        (
            r[group[0]] or "consumer",
            f"{r[group[1]] or ''} · {r['n']} orders",
            f"{r['value']:,.2f} {r['currency']}",
        )
        for r in rows
    ]


def failed_steps_by(*, field: str, limit: int = 10) -> list[tuple[str, str, Any]]:
    """Parked steps by step (what keeps failing) or by warehouse (where)."""
    group = {
        "step": ("step_definition__name", "task_type"),
        "warehouse": (
            "process__fulfillment_line__warehouse__code",
            "process__fulfillment_line__warehouse__name",
        ),
    }[field]
    rows = steps_needing_attention().values(*group).annotate(n=Count("id")).order_by("-n", group[0])[:limit]
    return [(r[group[0]] or "—", r[group[1]] or "", r["n"]) for r in rows]


def webhook_problems_by_endpoint(*, limit: int = 10) -> list[tuple[str, str, Any]]:
    rows = (
        webhook_problems()
        .order_by()
        .values("endpoint__url", "endpoint__channel__code")
        .annotate(n=Count("id"))
        .order_by("-n", "endpoint__url")[:limit]
    )
    return [(r["endpoint__url"], r["endpoint__channel__code"] or "", r["n"]) for r in rows]


def backorders_summary(*, field: str, limit: int = 10) -> list[tuple[str, str, Any]]:
    return [
        (r["key"], r["name"], f"{r['quantity'].normalize():,f}")
        for r in backorders_by(field=field, limit=limit)
    ]

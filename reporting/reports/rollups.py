"""Keeping the sales facts current.

Every write that changes a figure (capture, revision, approval, cancel, a line's cancel or
shipment, a status change) publishes an order event; the `reporting.rollups` subscriber refreshes
that order's facts. A periodic catch-up refreshes the orders whose audit trail grew since it last
looked (an event that never arrived, a write that publishes none), and `reports_rebuild` rebuilds
everything. One refresh replaces an order's rows from its current revision, so it can run any
number of times, in any order, and always converges on the base tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from orders.models import OrderEvent, OrderLine, SalesOrder
from orders.states import LineStatus, OrderStatus

from .models import ProductCost, RollupCursor, SalesFact

BATCH = 2000  # orders per refresh statement group
CATCH_UP = "order-events"
_ADVISORY_CLASS = 20_020  # pg_advisory_xact_lock(class, key): only the refreshers take these


def _lock_numbers(numbers: Sequence[str]) -> None:
    """Serialize refreshes of one order (an event handler and the catch-up at once) without
    touching any row other writers lock: a transaction-scoped advisory lock per order number,
    taken in key order so two refreshers never wait on each other in a cycle."""
    if connection.vendor != "postgresql" or not numbers:
        return
    keys = sorted({zlib.crc32(n.encode()) - 2**31 for n in numbers})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::int[]) AS k ORDER BY k",
            [_ADVISORY_CLASS, keys],
        )


def _revenue(breakdown: dict[str, Any] | None, line_net: Decimal, quantity: Decimal) -> Decimal:
    """The line's net amount as pricing computed it (after line and order discounts, before tax
    and shipping); the rounded unit net price times the quantity where no breakdown was stored."""
    net = (breakdown or {}).get("net")
    return Decimal(net) if net not in (None, "") else line_net * quantity


def _facts_for(numbers: Sequence[str]) -> list[SalesFact]:
    first_day = {
        row["number"]: timezone.localtime(row["first"]).date()
        for row in SalesOrder.objects.filter(number__in=numbers)
        .values("number")
        .annotate(first=Min("created_at"))
    }
    lines = list(
        OrderLine.objects.filter(order__number__in=numbers, order__is_current=True).values(
            "id",
            "order_id",
            "order__number",
            "order__channel_id",
            "order__currency",
            "order__status",
            "order__demand_class",
            "order__customer_id",
            "order__sales_rep_id",
            "order__ship_to",
            "order__source_page",
            "order__campaign",
            "ship_to",
            "warehouse_id",
            "product_id",
            "product__brand_id",
            "product__category_id",
            "product__uom__code",
            "uom",
            "quantity",
            "unit_net_price",
            "price_breakdown",
            "status",
        )
    )
    costs = {
        (c.product_id, c.currency): c.unit_cost
        for c in ProductCost.objects.filter(product_id__in={line["product_id"] for line in lines})
    }
    facts = []
    for line in lines:
        address = line["ship_to"] or line["order__ship_to"] or {}
        currency, quantity = line["order__currency"], line["quantity"]
        unit_cost = costs.get((line["product_id"], currency))
        costed = unit_cost is not None and line["uom"] == line["product__uom__code"]
        facts.append(
            SalesFact(
                line_id=line["id"],
                order_id=line["order_id"],
                order_number=line["order__number"],
                day=first_day[line["order__number"]],
                channel_id=line["order__channel_id"],
                warehouse_id=line["warehouse_id"],
                currency=currency,
                status=line["order__status"],
                customer_group=line["order__demand_class"],
                customer_id=line["order__customer_id"],
                seller_id=line["order__sales_rep_id"],
                country=(address.get("country") or "")[:2],
                region=(address.get("region") or "")[:60],
                source_page=line["order__source_page"],
                campaign=line["order__campaign"],
                product_id=line["product_id"],
                brand_id=line["product__brand_id"],
                category_id=line["product__category_id"],
                quantity=quantity,
                revenue=_revenue(line["price_breakdown"], line["unit_net_price"], quantity),
                cost=unit_cost * quantity if costed else None,
                canceled=line["status"] == LineStatus.CANCELED
                or line["order__status"] == OrderStatus.CANCELED,
            )
        )
    return facts


def facts_refresh(*, numbers: Iterable[str]) -> int:
    """Replace the facts of these orders (by number) with their current revisions' lines.
    Returns the number of fact rows written. Idempotent; safe beside another refresh."""
    numbers = sorted(set(numbers))
    written = 0
    for start in range(0, len(numbers), BATCH):
        chunk = numbers[start : start + BATCH]
        with transaction.atomic():
            _lock_numbers(chunk)
            SalesFact.objects.filter(order_number__in=chunk).delete()
            facts = _facts_for(chunk)
            SalesFact.objects.bulk_create(facts, batch_size=1000)
            written += len(facts)
    return written


def facts_catch_up(*, limit: int = 20_000) -> int:
    """Periodic: refresh the orders whose audit trail has rows the catch-up has not read yet.
    The cursor moves in the same transaction as the refresh, so a crash re-reads, never skips."""
    with transaction.atomic():
        cursor, _ = RollupCursor.objects.get_or_create(name=CATCH_UP)
        cursor = RollupCursor.objects.select_for_update(of=("self",)).get(pk=cursor.pk)
        events = OrderEvent.objects.filter(pk__gt=cursor.last_event_id).order_by("pk")[:limit]
        batch = list(events.values_list("pk", "order__number"))
        if not batch:
            return 0
        numbers = {number for _, number in batch}
        facts_refresh(numbers=numbers)
        cursor.last_event_id = batch[-1][0]
        cursor.save(update_fields=["last_event_id", "updated_at"])
        return len(numbers)


def facts_rebuild(*, progress=None) -> int:
    """Rebuild every fact from the base tables (the `reports_rebuild` command): all orders, in
    batches; the catch-up cursor then starts after the last audit row that existed before."""
    last_event = OrderEvent.objects.aggregate(m=Max("pk"))["m"] or 0
    numbers = list(
        SalesOrder.objects.filter(is_current=True).order_by("number").values_list("number", flat=True)
    )
    SalesFact.objects.exclude(order_number__in=SalesOrder.objects.values("number")).delete()
    written = 0
    for start in range(0, len(numbers), BATCH):
        written += facts_refresh(numbers=numbers[start : start + BATCH])
        if progress is not None:
            progress(min(start + BATCH, len(numbers)), len(numbers))
    RollupCursor.objects.update_or_create(name=CATCH_UP, defaults={"last_event_id": last_event})
    return written

"""A fulfillment line's promise, kept beside it: one statement whatever happened before."""

from __future__ import annotations

from django.utils import timezone

from .engine import LineResult
from .models import LinePromise, PromiseStatus


def line_promise_record(*, line, result: LineResult, demand_class: str) -> None:
    piece = result.pieces[0] if result.pieces else None
    row = LinePromise(
        fulfillment_line_id=line.pk,
        order_number=line.order_number,
        product_id=line.product_id,
        quantity=piece.quantity if piece else line.quantity,
        demand_class=demand_class,
        status=PromiseStatus.PROMISED if piece is not None else PromiseStatus.PARKED,
        mode=piece.mode if piece else "",
        warehouse_id=piece.warehouse_id if piece else None,
        rule_id=result.rule_id,
        scheduled_ship_date=piece.ship_date if piece else None,
        scheduled_arrival_date=piece.arrival_date if piece else None,
        promised_date=piece.arrival_date if piece else None,
        trace=result.trace,
        created_at=timezone.now(),
    )
    LinePromise.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["fulfillment_line"],
        update_fields=[
            "quantity", "status", "mode", "warehouse", "rule", "scheduled_ship_date",
            "scheduled_arrival_date", "promised_date", "trace", "updated_at",
        ],
    )  # fmt: skip

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


def promise_override(
    *, line_id: int, promised_date, reason: str, actor: str, warehouse_id: int | None = None
):
    """A person sets a line's promised date (and, for a line not yet reserved, its source), with a
    reason: audited (`promise_overridden`), kept in the promise's trace, and told to the channel
    (`order.promise_changed`). A reserved line moves source through a what-if instead."""
    from django.db import transaction

    from inventory.models import Warehouse
    from oms.kernel import events
    from oms.kernel.exceptions import Conflict, ValidationFailed

    from ..audit import channel_code, fevent
    from ..models import FulfillmentLine

    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the promise is overridden.", fields={"reason": ["Required."]})
    with transaction.atomic():
        line = FulfillmentLine.objects.select_for_update(of=("self",)).get(pk=line_id)
        before = {
            "promised_date": line.promised_date.isoformat() if line.promised_date else None,
            "warehouse": line.warehouse_id,
        }
        if warehouse_id is not None and warehouse_id != line.warehouse_id:
            if line.reservation_id is not None or line.shipped_quantity > 0:
                raise Conflict("The line is reserved: move its source with a what-if.")
            if not Warehouse.objects.filter(pk=warehouse_id, active=True).exists():
                raise ValidationFailed(
                    "No such active warehouse.", fields={"warehouse": ["Unknown or inactive."]}
                )
            line.warehouse_id = warehouse_id
            line.source_pinned = True
        line.promised_date = promised_date
        line.save(update_fields=["promised_date", "warehouse", "source_pinned", "updated_at"])
        note = f"overridden by {actor}: {reason}"
        promise = LinePromise.objects.filter(fulfillment_line_id=line.pk).first()
        if promise is None:
            promise = LinePromise(
                fulfillment_line_id=line.pk, order_number=line.order_number, product_id=line.product_id,
                quantity=line.quantity, trace=[],
            )  # fmt: skip
        promise.status = PromiseStatus.PROMISED
        promise.promised_date = promised_date
        promise.warehouse_id = line.warehouse_id
        promise.trace = [*promise.trace, note]
        promise.save()
        after = {"promised_date": promised_date.isoformat(), "warehouse": line.warehouse_id}
        fevent(
            "promise_overridden", line=line, actor=actor, before=before, after=after, data={"reason": reason}
        )
        events.publish(
            "order.promise_changed",
            {
                "order_id": line.order_id,
                "number": line.order_number,
                "channel": channel_code(line),
                "lines": [
                    {
                        "fulfillment_line": line.pk,
                        "source_line_id": line.source_line_id,
                        "warehouse": line.warehouse.code if line.warehouse_id else None,
                        "promised_date": promised_date.isoformat(),
                        "reason": reason,
                    }
                ],
            },
            aggregate=("order", line.order_number),
        )
        return line

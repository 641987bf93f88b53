"""Bench-only URLconf: the product's URLs plus the "minimal Django" floor for order capture.

The floor view writes the same rows a capture writes (an idempotency key claimed and completed,
the order, its lines, the stock positions' reserved counts, the reservations, the audit event, the
outbox event and its delivery, the customer's credit exposure) with the ORM, in one transaction,
behind the same middleware, but with none of the work in between: no authentication, validation,
pricing, checks or response serializer. The rows are cloned from a template order that the
benchmark captured through the real API first. Served only when OMS_ROOT_URLCONF names this module.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from customers.models import CreditExposure
from inventory.models import Reservation, StockPosition
from oms.kernel.models import OutboxDelivery, OutboxEvent
from orders.models import IdempotencyKey, IdempotencyStatus, OrderEvent, OrderLine, SalesOrder

_template: dict | None = None


def _load_template(number: str) -> dict:
    order = SalesOrder.objects.get(number=number, revision=1)
    lines = list(OrderLine.objects.filter(order=order).order_by("line_number"))
    by_line = {str(line.pk): line.line_number for line in lines}
    reservations = list(Reservation.objects.filter(demand_type="order_line", demand_id__in=list(by_line)))
    event = OutboxEvent.objects.filter(aggregate_id=order.number).order_by("pk").first()
    return {
        "order": order,
        "lines": lines,
        "reservations": [(by_line[r.demand_id], r) for r in reservations],
        "audit": list(OrderEvent.objects.filter(order=order)),
        "outbox": event,
        "deliveries": list(OutboxDelivery.objects.filter(event=event)),
    }


@csrf_exempt
def minimal_order(request):
    global _template
    body = json.loads(request.body)
    if _template is None:
        _template = _load_template(body["template"])
    t = _template
    now = timezone.now()
    with transaction.atomic():
        key = IdempotencyKey.objects.create(
            principal="bench-minimal",
            key=request.headers.get("Idempotency-Key") or uuid.uuid4().hex,
            request_hash="0" * 64,
            status=IdempotencyStatus.IN_FLIGHT,
            locked_until=now + timedelta(seconds=60),
            expires_at=now + timedelta(hours=24),
        )
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT nextval('orders_order_number_seq')")
            seq = cur.fetchone()[0]
        order = t["order"]
        order.pk = None
        order.number = f"SO-M{seq}"
        order.source_order_id = body["source_order_id"]
        order.customer_id = body.get("customer_id") or order.customer_id
        order.save(force_insert=True)
        lines = []
        for line in t["lines"]:
            line.pk = None
            line.order = order
            lines.append(line)
        OrderLine.objects.bulk_create(lines)
        by_number = {line.line_number: line for line in lines}
        # The lines' stock rows, drawn at random by the client like the capture's SKUs (the
        # template's own rows would make every floor order queue on the same four rows).
        by_line_position = dict(zip(sorted(n for n, _ in t["reservations"]), body["positions"], strict=False))
        positions = sorted(by_line_position.values())
        # Lock in primary-key order first, as inventory does: an UPDATE ... WHERE id IN (...) alone
        # takes its row locks in no fixed order and deadlocks against its twin.
        list(
            StockPosition.objects.select_for_update(of=("self",))
            .filter(pk__in=positions)
            .order_by("pk")
            .values_list("pk")
        )
        StockPosition.objects.filter(pk__in=positions, on_hand__gte=F("reserved") + 1).update(
            reserved=F("reserved") + 1
        )
        reservations = []
        for line_number, r in t["reservations"]:
            r.pk = None
            r.position_id = by_line_position[line_number]
            r.demand_id = str(by_number[line_number].pk)
            reservations.append(r)
        Reservation.objects.bulk_create(reservations)
        audit = []
        for e in t["audit"]:
            e.pk = None
            e.order = order
            audit.append(e)
        OrderEvent.objects.bulk_create(audit)
        event = t["outbox"]
        event.pk = None
        event.aggregate_id = order.number
        event.save(force_insert=True)
        deliveries = []
        for d in t["deliveries"]:
            d.pk = None
            d.event = event
            deliveries.append(d)
        OutboxDelivery.objects.bulk_create(deliveries)
        CreditExposure.objects.filter(customer_id=order.customer_id).update(
            open_orders_amount=F("open_orders_amount") + order.total
        )
    payload = json.dumps({"number": order.number, "total": str(order.total)}).encode()
    IdempotencyKey.objects.filter(pk=key.pk).update(
        status=IdempotencyStatus.COMPLETED, locked_until=None, response_status=201, response_body=payload
    )
    return JsonResponse({"number": order.number, "total": str(order.total)}, status=201)


urlpatterns = [
    path("bench/minimal-order", minimal_order),
    path("", include("oms.urls")),
]
handler500 = "oms.kernel.views.server_error"

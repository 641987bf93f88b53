"""Orchestration with real Celery workers on Redis: the happy path end to end, a worker killed
in the middle of a step, and a step whose task message was lost."""

from __future__ import annotations

import signal
import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
import redis as redis_lib
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from billing.models import Invoice
from customers.models import CreditExposure
from fulfillment.models import FulfillmentEvent, FulfillmentLine, Shipment, StepInstance
from fulfillment.states import FulfillmentLineStatus, ProcessStatus, StepStatus, TaskType
from inventory.models import Reservation, StockMovement, StockPosition
from oms.kernel import events
from oms.kernel.models import OutboxEvent
from orders.models import OrderEvent, SalesOrder
from tests.support.services import wait_until

from .conftest import advise, build_fulfillment_world, order_body, submit

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

FAST = {
    "OMS_STEP_SWEEP_SECONDS": "0.5",
    "OMS_STEP_REDISPATCH_SECONDS": "3",
    "OMS_STEP_RETRY_BACKOFF_SECONDS": "0.2",
    "CELERY_VISIBILITY_TIMEOUT": "5",
}


def _line(quantity: str = "3") -> dict:
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    return {"source_line_id": "1", "sku": "DRILL-1", "quantity": quantity, "requested_ship_date": ship_date}


def _step(number: str, task_type: str) -> StepInstance | None:
    return StepInstance.objects.filter(
        process__fulfillment_line__order_number=number, task_type=task_type
    ).first()


def _status(number: str, task_type: str) -> str | None:
    step = _step(number, task_type)
    return step.status if step else None


def _wake_pause(number: str) -> None:
    wait_until(
        lambda: _status(number, TaskType.PAUSE) == StepStatus.WAITING, timeout=30, message="pause waits"
    )
    StepInstance.objects.filter(pk=_step(number, TaskType.PAUSE).pk).update(
        wake_at=timezone.now() - timedelta(seconds=1)
    )


def _ship_and_finish(client, world, number: str) -> FulfillmentLine:
    shipment = wait_until(
        lambda: Shipment.objects.filter(order_number=number, status="requested").first(),
        timeout=30,
        message="shipment requested",
    )
    for _ in range(5):  # a 503 + Retry-After asks the partner to send the same advice again
        resp = advise(client, world, shipment=shipment.number, advice_id=f"adv-{number}")
        if resp.status_code != 503:
            break
        time.sleep(0.5)
    assert resp.status_code == 200, resp.content
    wait_until(
        lambda: FulfillmentLine.objects.filter(
            order_number=number, status=FulfillmentLineStatus.CLOSED
        ).exists(),
        timeout=30,
        message="fulfillment line closed",
    )
    return FulfillmentLine.objects.get(order_number=number)


def test_end_to_end_submit_to_closed_with_a_real_worker(celery_worker_factory):
    world = build_fulfillment_world()
    celery_worker_factory(beat=True, env=FAST)
    client = Client()
    order = submit(client, world, order_body(lines=[_line("3")]))
    number = order["number"]
    _wake_pause(number)
    fl = _ship_and_finish(client, world, number)

    # Statuses agree: every step done, process complete, order and line closed.
    assert fl.process.status == ProcessStatus.COMPLETED
    assert list(fl.process.steps.order_by("sequence").values_list("task_type", "status")) == [
        (TaskType.SCHEDULE, "completed"),
        (TaskType.RESERVE, "completed"),
        (TaskType.PAUSE, "completed"),
        (TaskType.CREATE_SHIPMENT_REQUEST, "completed"),
        (TaskType.WAIT_FOR_SHIPMENT, "completed"),
        (TaskType.INVOICE, "completed"),
        (TaskType.CLOSE, "completed"),
    ]
    so = SalesOrder.objects.get(number=number, is_current=True)
    assert so.status == "closed"
    line = so.lines.get()
    assert (line.status, line.shipped_quantity, line.billed_quantity) == ("closed", Decimal(3), Decimal(3))
    # Ledger and reservations: one reservation, consumed by the shipment; on-hand fell by 3.
    reservation = Reservation.objects.get(demand_type="fulfillment_line", demand_id=str(fl.pk))
    assert reservation.status == "consumed"
    pos = StockPosition.objects.get(product=world.products["DRILL-1"], warehouse=world.east)
    assert (pos.on_hand, pos.reserved) == (Decimal(97), Decimal(0))
    shipment = Shipment.objects.get(order_number=number)
    assert StockMovement.objects.get(position=pos, kind="shipment").quantity == Decimal(-3)
    assert StockMovement.objects.get(position=pos, kind="shipment").reference == shipment.number
    # Billing: one invoice for the whole order, exactly its total; exposure moved to receivables.
    invoice = Invoice.objects.get(order_number=number)
    assert invoice.total == so.total and invoice.status == "issued"
    exposure = CreditExposure.objects.get(customer=world.customer)
    assert exposure.open_orders_amount == 0 and exposure.open_receivables_amount == so.total
    # Events: the outbox carries the whole story, the audit trails too.
    topics = set(OutboxEvent.objects.filter(aggregate_id=number).values_list("topic", flat=True))
    assert {
        "order.submitted",
        "shipment.requested",
        "shipment.shipped",
        "invoice.issued",
        "order.status_changed",
        "order.line.status_changed",
        "fulfillment.line.status_changed",
    } <= topics
    assert OrderEvent.objects.filter(order=so, kind="status_changed").count() >= 2
    kinds = list(FulfillmentEvent.objects.filter(fulfillment_line=fl).values_list("kind", flat=True))
    assert kinds.count("step_completed") == 7 and "shipped" in kinds and "invoiced" in kinds


def test_a_worker_killed_mid_step_completes_the_step_exactly_once_after_restart(celery_worker_factory):
    world = build_fulfillment_world()
    position = StockPosition.objects.get(product=world.products["DRILL-1"], warehouse=world.east)
    locked, release = threading.Event(), threading.Event()

    def hold_the_stock_row():
        # Another transaction holds the stock row, so the worker's RESERVE stops mid-step.
        try:
            with transaction.atomic():
                StockPosition.objects.select_for_update(of=("self",)).get(pk=position.pk)
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_stock_row)
    holder.start()
    assert locked.wait(10)
    worker = celery_worker_factory(env=FAST)
    client = Client()
    number = submit(client, world, order_body(lines=[_line("4")]))["number"]
    reserve = wait_until(
        lambda: StepInstance.objects.filter(
            process__fulfillment_line__order_number=number,
            task_type=TaskType.RESERVE,
            status=StepStatus.RUNNING,
        ).first(),
        timeout=30,
        message="RESERVE dispatched",
    )

    def worker_waits_on_the_row() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0] > 0

    wait_until(worker_waits_on_the_row, timeout=30, message="the worker blocked inside RESERVE")
    worker.stop(signal.SIGKILL)
    release.set()
    holder.join(10)
    assert StepInstance.objects.get(pk=reserve.pk).status == StepStatus.RUNNING  # rolled back, not done
    assert not Reservation.objects.filter(demand_type="fulfillment_line").exists()

    celery_worker_factory(beat=True, env=FAST)  # redelivery (visibility timeout) and sweeper both re-send
    _wake_pause(number)
    fl = _ship_and_finish(Client(), world, number)
    reserve.refresh_from_db()
    assert reserve.status == StepStatus.COMPLETED
    assert Reservation.objects.filter(demand_type="fulfillment_line", demand_id=str(fl.pk)).count() == 1
    assert Shipment.objects.filter(order_number=number).count() == 1
    assert Invoice.objects.filter(order_number=number).count() == 1
    assert FulfillmentEvent.objects.filter(step=reserve, kind="step_completed").count() == 1
    position.refresh_from_db()
    assert (position.on_hand, position.reserved) == (Decimal(96), Decimal(0))


def test_a_lost_step_message_is_found_by_the_sweeper_and_runs_once(celery_worker_factory):
    world = build_fulfillment_world()
    client = Client()
    number = submit(client, world, order_body(lines=[_line("2")]))["number"]
    # No worker yet: deliver the order event here; SCHEDULE's task goes to the broker on commit.
    events.relay_run()
    schedule = _step(number, TaskType.SCHEDULE)
    assert schedule.status == StepStatus.RUNNING
    broker = redis_lib.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert broker.llen(queue) >= 1
    broker.delete(*broker.keys(f"{queue}*"))  # the message is lost (a Redis restart, say)
    assert broker.llen(queue) == 0

    celery_worker_factory(beat=True, env=FAST)
    wait_until(
        lambda: _status(number, TaskType.SCHEDULE) == StepStatus.COMPLETED,
        timeout=40,
        message="SCHEDULE completed after the sweep re-sent it",
    )
    schedule.refresh_from_db()
    assert schedule.attempts == 1
    assert FulfillmentEvent.objects.filter(step=schedule, kind="step_completed").count() == 1
    wait_until(
        lambda: _status(number, TaskType.RESERVE) == StepStatus.COMPLETED, timeout=30, message="RESERVE"
    )
    fl = FulfillmentLine.objects.get(order_number=number)
    assert Reservation.objects.filter(demand_type="fulfillment_line", demand_id=str(fl.pk)).count() == 1

"""TRANSFER (the reservation moves to the step's target warehouse, and the shipment leaves from
there) and WAIT_FOR_PAYMENT (it waits while the line's invoice is unpaid, and `invoice.paid` wakes
it at once instead of at its periodic re-check), in-process; the wake-up again with a real worker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Invoice
from billing.services import invoice_mark_paid
from fulfillment.models import FulfillmentEvent, FulfillmentLine, Shipment, StepInstance
from fulfillment.seeding import SHIP_FROM_WAREHOUSE
from fulfillment.services.definitions import definition_create
from fulfillment.states import Compensation, FulfillmentLineStatus, ProcessStatus, StepStatus, TaskType
from inventory.models import Reservation, StockPosition
from oms.kernel import events
from oms.kernel.models import OutboxDelivery
from tests.support.services import wait_until

from .conftest import advise, build_fulfillment_world, order_body, settle, submit


def _process_with_transfer_and_payment(world, *, transfer: bool = True):
    """A new published version of ship-from-warehouse: reserve, (move the reservation to the west
    warehouse,) ship, invoice, wait for payment, close."""
    steps = [
        {"name": "Schedule", "task_type": TaskType.SCHEDULE, "compensation": Compensation.REDO},
        {"name": "Reserve", "task_type": TaskType.RESERVE, "compensation": Compensation.UPDATE},
    ]
    if transfer:
        steps.append(
            {"name": "To the west DC", "task_type": TaskType.TRANSFER, "target_warehouse": world.west}
        )
    steps += [
        {
            "name": "Request shipment",
            "task_type": TaskType.CREATE_SHIPMENT_REQUEST,
            "compensation": Compensation.REDO,
        },
        {"name": "Wait for shipment", "task_type": TaskType.WAIT_FOR_SHIPMENT},
        {"name": "Invoice", "task_type": TaskType.INVOICE},
        {"name": "Wait for payment", "task_type": TaskType.WAIT_FOR_PAYMENT},
        {"name": "Close", "task_type": TaskType.CLOSE},
    ]
    return definition_create(code=SHIP_FROM_WAREHOUSE, name="Ship, get paid, close", steps=steps)


def _step(fl: FulfillmentLine, task_type: str) -> StepInstance:
    return StepInstance.objects.get(process__fulfillment_line=fl, task_type=task_type)


def _position(world, warehouse) -> tuple[Decimal, Decimal]:
    pos = StockPosition.objects.get(product=world.products["DRILL-1"], warehouse=warehouse)
    return pos.on_hand, pos.reserved


@pytest.mark.integration
@pytest.mark.django_db
def test_transfer_moves_the_reservation_to_its_target_and_the_shipment_leaves_from_there():
    world = build_fulfillment_world()
    _process_with_transfer_and_payment(world)
    client = Client()
    order = submit(
        client, world, order_body(lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "3"}])
    )
    settle()
    fl = FulfillmentLine.objects.get(order_number=order["number"])
    assert _step(fl, TaskType.TRANSFER).status == StepStatus.COMPLETED
    # Reserved at east (ship-to NJ ranks it first), then moved: west holds it, east is free again.
    assert fl.warehouse == world.west
    assert _position(world, world.east) == (Decimal(100), Decimal(0))
    assert _position(world, world.west) == (Decimal(100), Decimal(3))
    reservation = Reservation.objects.get(pk=fl.reservation_id)
    assert reservation.position.warehouse_id == world.west.pk and reservation.status == "active"
    moved = FulfillmentEvent.objects.get(fulfillment_line=fl, kind="reservation_moved")
    assert (moved.before, moved.after) == ({"warehouse": world.east.pk}, {"warehouse": world.west.pk})
    shipment = Shipment.objects.get(order_number=order["number"])
    assert shipment.warehouse_id == world.west.pk
    # The west warehouse's partner ships it; the stock leaves the west position.
    assert (
        advise(client, world, shipment=shipment.number, advice_id="W1", warehouse="wh-west").status_code
        == 200
    )
    settle()
    assert _position(world, world.west) == (Decimal(97), Decimal(0))
    assert _position(world, world.east) == (Decimal(100), Decimal(0))


@pytest.mark.integration
@pytest.mark.django_db
def test_transfer_to_the_warehouse_already_holding_the_line_changes_nothing():
    world = build_fulfillment_world()
    _process_with_transfer_and_payment(world)
    west_order = order_body(
        "F-W",
        ship_to={
            "name": "A",
            "line1": "9 Ocean Ave",
            "city": "LA",
            "region": "CA",
            "postcode": "90001",
            "country": "US",
        },
    )
    order = submit(Client(), world, west_order)
    settle()
    fl = FulfillmentLine.objects.get(order_number=order["number"])
    assert fl.warehouse == world.west
    assert _step(fl, TaskType.TRANSFER).status == StepStatus.COMPLETED
    assert not FulfillmentEvent.objects.filter(fulfillment_line=fl, kind="reservation_moved").exists()
    assert _position(world, world.west) == (Decimal(100), Decimal(3))


@pytest.mark.integration
@pytest.mark.django_db
def test_wait_for_payment_waits_while_unpaid_and_invoice_paid_wakes_it_before_its_recheck(settings):
    settings.OMS_STEP_WAIT_RECHECK_SECONDS = 15 * 60
    world = build_fulfillment_world()
    _process_with_transfer_and_payment(world, transfer=False)
    client = Client()
    order = submit(client, world, order_body())
    settle()
    shipment = Shipment.objects.get(order_number=order["number"])
    assert advise(client, world, shipment=shipment.number, advice_id="P1").status_code == 200
    settle()
    fl = FulfillmentLine.objects.get(order_number=order["number"])
    waiting = _step(fl, TaskType.WAIT_FOR_PAYMENT)
    assert waiting.status == StepStatus.WAITING and waiting.awaited_event == "invoice.paid"
    assert waiting.wake_at > timezone.now() + timezone.timedelta(minutes=14)  # the slow path
    assert fl.status == FulfillmentLineStatus.BILLED
    assert _step(fl, TaskType.CLOSE).status == StepStatus.PENDING

    invoice = Invoice.objects.get(order_number=order["number"])
    invoice_mark_paid(invoice_id=invoice.pk)
    assert (
        OutboxDelivery.objects.filter(subscriber="fulfillment.payments", event__topic="invoice.paid").count()
        == 1
    )
    settle()  # deliver invoice.paid, then run what it woke -- no clock moves
    fl.refresh_from_db()
    assert _step(fl, TaskType.WAIT_FOR_PAYMENT).status == StepStatus.COMPLETED
    assert fl.status == FulfillmentLineStatus.CLOSED
    assert fl.process.status == ProcessStatus.COMPLETED


@pytest.mark.integration
@pytest.mark.django_db
def test_invoice_paid_wakes_only_the_lines_that_invoice_bills(settings):
    settings.OMS_STEP_WAIT_RECHECK_SECONDS = 15 * 60
    world = build_fulfillment_world()
    _process_with_transfer_and_payment(world, transfer=False)
    client = Client()
    numbers = [submit(client, world, order_body(f"F-{i}"))["number"] for i in range(2)]
    settle()
    for i, number in enumerate(numbers):
        shipment = Shipment.objects.get(order_number=number)
        assert advise(client, world, shipment=shipment.number, advice_id=f"P{i}").status_code == 200
    settle()
    invoice_mark_paid(invoice_id=Invoice.objects.get(order_number=numbers[0]).pk)
    settle()
    paid, unpaid = (FulfillmentLine.objects.get(order_number=n) for n in numbers)
    assert _step(paid, TaskType.WAIT_FOR_PAYMENT).status == StepStatus.COMPLETED
    assert _step(unpaid, TaskType.WAIT_FOR_PAYMENT).status == StepStatus.WAITING
    assert unpaid.status == FulfillmentLineStatus.BILLED


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_wait_for_payment_completes_within_seconds_of_invoice_paid(celery_worker_factory):
    world = build_fulfillment_world()
    _process_with_transfer_and_payment(world, transfer=False)
    # The periodic re-check is 15 minutes away: only invoice.paid can finish the step in time.
    celery_worker_factory(
        beat=True,
        env={
            "OMS_STEP_SWEEP_SECONDS": "0.5",
            "OMS_STEP_WAIT_RECHECK_SECONDS": "900",
            "OMS_STEP_RETRY_BACKOFF_SECONDS": "0.2",
        },
    )
    client = Client()
    number = submit(client, world, order_body())["number"]
    shipment = wait_until(
        lambda: Shipment.objects.filter(order_number=number, status="requested").first(),
        timeout=60,
        message="shipment requested",
    )
    assert advise(client, world, shipment=shipment.number, advice_id="RW1").status_code == 200
    step = wait_until(
        lambda: StepInstance.objects.filter(
            process__fulfillment_line__order_number=number,
            task_type=TaskType.WAIT_FOR_PAYMENT,
            status=StepStatus.WAITING,
            awaited_event="invoice.paid",
        ).first(),
        timeout=60,
        message="WAIT_FOR_PAYMENT waiting",
    )
    assert step.wake_at > timezone.now() + timezone.timedelta(minutes=10)
    invoice_mark_paid(invoice_id=Invoice.objects.get(order_number=number).pk)
    events.kick_relay()
    paid_at = timezone.now()
    fl = wait_until(
        lambda: FulfillmentLine.objects.filter(
            order_number=number, status=FulfillmentLineStatus.CLOSED
        ).first(),
        timeout=15,
        message="the line closed after invoice.paid",
    )
    step.refresh_from_db()
    assert step.status == StepStatus.COMPLETED
    assert (step.actual_end - paid_at).total_seconds() < 10
    assert fl.process.status == ProcessStatus.COMPLETED

"""The engine: holds stop steps, definition versions stick, failures go FAILED and resume on a
staff retry, duplicated runs change nothing twice, waits are woken by the beat scan."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from fulfillment.models import FulfillmentEvent, FulfillmentLine, ProcessDefinition, Shipment, StepInstance
from fulfillment.seeding import SHIP_FROM_WAREHOUSE
from fulfillment.selectors import steps_needing_attention
from fulfillment.services import definition_new_version, definition_publish, step_execute, steps_sweep
from fulfillment.states import FulfillmentLineStatus as FLS
from fulfillment.states import ProcessStatus, StepStatus, TaskType
from inventory.models import ChannelWarehouse, Reservation
from orders.actors import Actor
from orders.models import HoldCode, SalesOrder
from orders.services import hold_apply, hold_release
from orders.states import HoldScope
from tests.orders.conftest import make_channel

from .conftest import advise, order_body, post, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _line(quantity="2", sku="DRILL-1") -> dict:
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    return {"source_line_id": "1", "sku": sku, "quantity": quantity, "requested_ship_date": ship_date}


def _step(fl: FulfillmentLine, task_type: str) -> StepInstance:
    return fl.process.steps.get(task_type=task_type)


def test_a_hold_applied_while_waiting_stops_the_next_shipping_step_until_released(fworld):
    client = Client()
    number = submit(client, fworld, order_body(lines=[_line()]))["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert _step(fl, TaskType.PAUSE).status == StepStatus.WAITING
    HoldCode.objects.create(
        code="ship-stop",
        name="Stop shipping",
        stops=HoldScope.SHIPPING,
        apply_roles=["channel"],
        release_roles=["channel"],
    )
    order = SalesOrder.objects.get(number=number, is_current=True)
    hold = hold_apply(order_id=order.pk, actor=Actor.system(), code="ship-stop", reason="address check")

    wake_pauses()
    settle()
    request_step = _step(fl, TaskType.CREATE_SHIPMENT_REQUEST)
    assert _step(fl, TaskType.PAUSE).status == StepStatus.COMPLETED
    assert request_step.status == StepStatus.HELD and "ship-stop" in request_step.last_error
    assert not Shipment.objects.filter(order_number=number).exists()
    assert steps_sweep().unheld == []  # still held: the sweep leaves it alone
    settle()
    assert _step(fl, TaskType.CREATE_SHIPMENT_REQUEST).status == StepStatus.HELD

    hold_release(hold_id=hold.pk, actor=Actor.system(), reason="address confirmed")
    settle()
    fl.refresh_from_db()
    assert _step(fl, TaskType.CREATE_SHIPMENT_REQUEST).status == StepStatus.COMPLETED
    assert fl.status == FLS.AWAITING_SHIPPING and Shipment.objects.filter(order_number=number).count() == 1


def test_a_scheduling_hold_does_not_stop_shipping(fworld):
    client = Client()
    number = submit(client, fworld, order_body(lines=[_line()]))["number"]
    settle()
    HoldCode.objects.create(code="sched-stop", name="Stop scheduling", stops=HoldScope.SCHEDULING)
    hold_apply(
        order_id=SalesOrder.objects.get(number=number).pk, actor=Actor.system(), code="sched-stop", reason="x"
    )
    wake_pauses()
    settle()
    assert FulfillmentLine.objects.get(order_number=number).status == FLS.AWAITING_SHIPPING


def test_an_instance_started_on_version_1_finishes_on_version_1_after_version_2_is_published(fworld):
    client = Client()
    v1 = fworld.processes[SHIP_FROM_WAREHOUSE]
    first = submit(client, fworld, order_body("V-1", lines=[_line()]))["number"]
    settle()
    draft = definition_new_version(definition_id=v1.pk)
    draft.steps.filter(task_type=TaskType.PAUSE).delete()  # v2 ships without waiting
    v2 = definition_publish(definition_id=draft.pk)
    v1.refresh_from_db()
    assert (v2.version, v2.status, v1.status) == (2, "published", "retired")

    second = submit(client, fworld, order_body("V-2", lines=[_line()]))["number"]
    settle()
    old = FulfillmentLine.objects.get(order_number=first)
    new = FulfillmentLine.objects.get(order_number=second)
    assert new.process.definition == v2 and new.status == FLS.AWAITING_SHIPPING  # no pause in v2
    assert old.process.definition == v1 and _step(old, TaskType.PAUSE).status == StepStatus.WAITING
    wake_pauses()
    settle()
    old.refresh_from_db()
    assert old.status == FLS.AWAITING_SHIPPING
    shipment = Shipment.objects.get(order_number=first)
    assert advise(client, fworld, shipment=shipment.number, advice_id="v1-ship").status_code == 200
    settle()
    old.refresh_from_db()
    assert old.status == FLS.CLOSED and old.process.status == ProcessStatus.COMPLETED
    assert old.process.definition == v1
    assert {s.step_definition.definition_id for s in old.process.steps.all()} == {v1.pk}
    assert old.process.steps.count() == 7 and new.process.steps.count() == 6


def test_a_step_failing_three_times_goes_failed_needs_attention_and_resumes_on_staff_retry(fworld, settings):
    settings.OMS_STEP_RETRY_BACKOFF_SECONDS = 0
    lonely = make_channel("lonely", reserve=False, warehouses=[])  # nowhere to source from
    client = Client()
    resp = post(client, "/api/v1/orders", order_body("L-1", lines=[_line()]), lonely.key)
    assert resp.status_code == 201, resp.content
    number = resp.json()["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    schedule = _step(fl, TaskType.SCHEDULE)
    assert schedule.status == StepStatus.FAILED and schedule.attempts == 3
    assert "no active warehouse" in schedule.last_error
    fl.process.refresh_from_db()
    assert fl.process.status == ProcessStatus.NEEDS_ATTENTION
    assert list(steps_needing_attention()) == [schedule]
    assert FulfillmentEvent.objects.filter(step=schedule, kind="step_attempt_failed").count() == 2
    assert FulfillmentEvent.objects.filter(step=schedule, kind="step_failed").count() == 1

    ChannelWarehouse.objects.create(channel=lonely.channel, warehouse=fworld.east, rank=1)  # the cause, fixed
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    asked = timezone.now()
    resp = client.post(
        f"/api/v1/fulfillment/steps/{schedule.pk}/actions",
        {"action": "retry"},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    # Before the worker runs it: a fresh attempt count, due now, and who did what in the audit log.
    schedule.refresh_from_db()
    assert (schedule.status, schedule.attempts) == (StepStatus.RUNNING, 0)
    assert schedule.dispatched_at is not None and schedule.dispatched_at >= asked
    retried = FulfillmentEvent.objects.get(kind="step_retried")
    assert (retried.step_id, retried.process_id, retried.fulfillment_line_id, retried.actor) == (
        schedule.pk,
        fl.process.pk,
        fl.pk,
        "user:ops",
    )
    resumed = FulfillmentEvent.objects.filter(kind="process_status", process=fl.process).latest("pk")
    assert (resumed.actor, resumed.data, resumed.after) == (
        "user:ops",
        {"reason": "staff retry"},
        {"status": "running"},
    )
    settle()
    schedule.refresh_from_db()
    fl.refresh_from_db()
    assert schedule.status == StepStatus.COMPLETED and fl.process.status == ProcessStatus.RUNNING
    assert fl.status == FLS.RESERVED and list(steps_needing_attention()) == []


def test_running_a_step_twice_changes_nothing_twice(fworld):
    client = Client()
    number = submit(client, fworld, order_body(lines=[_line()]))["number"]
    from oms.kernel import events

    events.relay_run()
    fl = FulfillmentLine.objects.get(order_number=number)
    schedule = _step(fl, TaskType.SCHEDULE)
    assert step_execute(step_instance_id=schedule.pk).outcome == "completed"
    assert step_execute(step_instance_id=schedule.pk).outcome == "not_due"  # a duplicate message
    reserve = _step(fl, TaskType.RESERVE)
    assert step_execute(step_instance_id=reserve.pk).outcome == "completed"
    assert step_execute(step_instance_id=reserve.pk).outcome == "not_due"
    assert Reservation.objects.filter(demand_type="fulfillment_line").count() == 1
    # A second delivery of order.submitted starts nothing new.
    from fulfillment.services import order_fulfillment_start

    assert order_fulfillment_start(order_id=fl.order_id) == []
    assert FulfillmentLine.objects.filter(order_number=number).count() == 1


def test_pause_is_woken_by_the_beat_scan_not_a_countdown(fworld):
    client = Client()
    number = submit(client, fworld, order_body(lines=[_line()]))["number"]
    settle()
    pause = _step(FulfillmentLine.objects.get(order_number=number), TaskType.PAUSE)
    expected = timezone.make_aware(
        timezone.datetime.combine(date.today() + timedelta(days=8), timezone.datetime.min.time())
    )
    assert pause.status == StepStatus.WAITING and pause.wake_at == expected
    assert steps_sweep().woken == []  # not yet due
    # Time passes (no sleeping in tests: the stored wake-up time moves into the past).
    StepInstance.objects.filter(pk=pause.pk).update(wake_at=timezone.now() - timedelta(seconds=1))
    assert steps_sweep().woken == [pause.pk]
    pause.refresh_from_db()
    assert pause.status == StepStatus.RUNNING
    assert step_execute(step_instance_id=pause.pk).outcome == "completed"


def test_a_lost_step_is_resent_by_the_sweep_only_after_the_redispatch_delay(fworld, settings):
    client = Client()
    number = submit(client, fworld, order_body(lines=[_line()]))["number"]
    from oms.kernel import events

    events.relay_run()
    step = _step(FulfillmentLine.objects.get(order_number=number), TaskType.SCHEDULE)
    assert step.status == StepStatus.RUNNING
    assert steps_sweep().resent == []
    later = timezone.now() + timedelta(seconds=settings.OMS_STEP_REDISPATCH_SECONDS + 1)
    assert steps_sweep(now=later).resent == [step.pk]


def test_versions_and_assignment_pick_the_latest_published_definition(fworld):
    assert ProcessDefinition.objects.filter(code=SHIP_FROM_WAREHOUSE, status="published").count() == 1
    client = Client()
    number = submit(
        client, fworld, order_body(lines=[_line(sku="KAYAK-1"), {**_line(), "source_line_id": "2"}])
    )["number"]
    settle()
    codes = dict(
        FulfillmentLine.objects.filter(order_number=number).values_list(
            "source_line_id", "process__definition__code"
        )
    )
    assert codes == {"1": "drop-ship", "2": SHIP_FROM_WAREHOUSE}


def test_an_order_waiting_for_approval_starts_fulfillment_when_approved(fworld):
    from django.contrib.auth.models import Group

    from oms.kernel.roles import Role, role_sync
    from orders.services import order_approve
    from tests.factories.orders import ApprovalRuleFactory

    ApprovalRuleFactory(threshold="100", threshold_currency="USD")
    number = submit(Client(), fworld, order_body(lines=[_line("2")]))["number"]
    settle()
    order = SalesOrder.objects.get(number=number, is_current=True)
    assert order.status == "pending_approval"
    assert not FulfillmentLine.objects.filter(order_number=number).exists()
    role_sync()
    approver = get_user_model().objects.create_user("boss", password="x", is_staff=True)
    approver.groups.add(Group.objects.get(name=Role.APPROVER.label))
    order_approve(order_id=order.pk, actor=Actor.for_user(approver), reason="ok")
    settle()
    assert FulfillmentLine.objects.get(order_number=number).status == FLS.RESERVED

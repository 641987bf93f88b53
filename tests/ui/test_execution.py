"""Order detail shows fulfillment (steps planned vs actual), shipments with tracking and invoices;
parked steps are retried from the workbench or the order."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice
from fulfillment.models import FulfillmentLine, ProcessInstance, Shipment, StepInstance
from fulfillment.states import ProcessStatus, StepStatus
from oms.kernel.roles import Role, role_sync
from tests.fulfillment.conftest import (
    advise,
    build_fulfillment_world,
    order_body,
    settle,
    submit,
    wake_pauses,
)
from tests.support.otp import verify_session

from .world import PASSWORD, staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def shipped(db):
    role_sync()
    world = build_fulfillment_world()
    client = Client()
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    lines = [
        {"source_line_id": "1", "sku": "DRILL-1", "quantity": "3", "requested_ship_date": ship_date},
        {"source_line_id": "2", "sku": "SAW-1", "quantity": "1", "requested_ship_date": ship_date},
    ]
    order = submit(client, world, order_body(lines=lines))
    settle()
    wake_pauses()
    settle()
    shipments = list(Shipment.objects.filter(order_number=order["number"]).order_by("pk"))
    for n, shipment in enumerate(shipments, start=1):
        resp = advise(
            client, world, shipment=shipment.number, advice_id=f"A{n}", warehouse=shipment.warehouse.code
        )
        assert resp.status_code == 200, resp.content
    shipment = shipments[0]
    settle()
    world.number = order["number"]
    world.shipment = shipment
    world.desk = staff_user("desk", Role.ORDER_DESK)
    world.picker = staff_user("picker", Role.FULFILLMENT)
    return world


def _client(user) -> Client:
    client = Client()
    assert client.login(request=RequestFactory().post("/"), username=user.get_username(), password=PASSWORD)
    verify_session(client, user)
    return client


def test_order_detail_shows_plan_shipments_and_invoices(shipped):
    client = _client(shipped.desk)
    detail = client.get(f"/orders/{shipped.number}/").content.decode()
    assert f"/orders/{shipped.number}/execution" in detail  # the panels load with the page
    with CaptureQueriesContext(connection) as ctx:
        panel = client.get(f"/orders/{shipped.number}/execution").content.decode()
    assert shipped.shipment.number in panel and "1ZA1" in panel  # tracking
    invoices = list(Invoice.objects.filter(order_number=shipped.number))
    assert invoices and all(invoice.number in panel for invoice in invoices)
    step = StepInstance.objects.filter(process__fulfillment_line__order_number=shipped.number).first()
    assert step.step_definition.name in panel
    assert "Fulfillment timeline" in panel
    assert len(ctx.captured_queries) <= 16


def test_a_parked_step_is_retried_from_the_workbench(shipped):
    line = FulfillmentLine.objects.filter(order_number=shipped.number).first()
    step = line.process.steps.order_by("-sequence").first()
    # A step that failed its retries parks and the process waits for a person.
    StepInstance.objects.filter(pk=step.pk).update(status=StepStatus.FAILED, last_error="WMS said 500")
    ProcessInstance.objects.filter(pk=line.process.pk).update(status=ProcessStatus.NEEDS_ATTENTION)
    desk = _client(shipped.desk)
    assert desk.get("/workbench/steps/").status_code == 403  # fulfillment's queue
    picker = _client(shipped.picker)
    page = picker.get("/workbench/steps/").content.decode()
    assert "WMS said 500" in page
    response = picker.post(
        "/workbench/steps/action", {"action": "retry", "ids": [step.pk], "confirm": "yes"}, follow=True
    )
    assert "1 row sent to retry." in response.content.decode()
    step.refresh_from_db()
    line.process.refresh_from_db()
    assert step.status != StepStatus.FAILED and step.attempts == 0
    assert line.process.status == ProcessStatus.RUNNING

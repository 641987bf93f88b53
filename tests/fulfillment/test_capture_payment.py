"""CAPTURE_PAYMENT in a real process, against the payment sandbox: a card authorized at capture is
captured per shipment (two partial captures for two shipments, the last final); a declined card
puts the order on a payment hold that keeps the shipment step from running until a new
authorization releases it."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import Invoice, Payment
from billing.sandbox import PaymentSandbox
from billing.services.payments import order_payment_held, payment_authorize
from customers.models import CreditExposure
from fulfillment.models import FulfillmentLine, Shipment, StepInstance
from fulfillment.seeding import SHIP_FROM_WAREHOUSE
from fulfillment.services.definitions import definition_create
from fulfillment.states import Compensation, StepStatus, TaskType
from orders.models import SalesOrder
from tests.billing.conftest import gateway_settings

from .conftest import advise, build_fulfillment_world, order_body, settle, submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
VISA = "pm_card_4242424242424242"


@pytest.fixture
def sandbox(settings):
    sb = PaymentSandbox().start()
    sb.timeout_seconds = 1.5
    settings.OMS_PAYMENT_GATEWAYS = {"web": gateway_settings(sb)["billing-test"]}
    yield sb
    sb.stop()


def _process():
    return definition_create(
        code=SHIP_FROM_WAREHOUSE,
        name="Ship, capture at shipment, close",
        steps=[
            {"name": "Schedule", "task_type": TaskType.SCHEDULE, "compensation": Compensation.REDO},
            {"name": "Reserve", "task_type": TaskType.RESERVE, "compensation": Compensation.UPDATE},
            {
                "name": "Request shipment",
                "task_type": TaskType.CREATE_SHIPMENT_REQUEST,
                "compensation": Compensation.REDO,
            },
            {"name": "Wait for shipment", "task_type": TaskType.WAIT_FOR_SHIPMENT},
            {"name": "Invoice", "task_type": TaskType.INVOICE},
            {"name": "Capture payment", "task_type": TaskType.CAPTURE_PAYMENT},
            {"name": "Close", "task_type": TaskType.CLOSE},
        ],
    )


def test_two_shipments_are_two_partial_captures_of_one_authorization(sandbox):
    world = build_fulfillment_world()
    _process()
    client = Client()
    number = submit(client, world, order_body())["number"]
    order = SalesOrder.objects.get(number=number, is_current=True)
    payment = payment_authorize(order_id=order.pk, method="card", token=VISA, key="at-capture")
    assert payment.status == "authorized" and payment.authorized_amount == order.total
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    shipment = Shipment.objects.get(order_number=number)
    # The warehouse ships one of three now (the line splits), the rest later.
    assert (
        advise(client, world, shipment=shipment.number, advice_id="A1", lines=[(fl.pk, 1)]).status_code == 200
    )
    settle()
    payment.refresh_from_db()
    [first] = Invoice.objects.filter(order_number=number)
    assert first.status == "paid" and payment.captured_amount == first.total and len(sandbox.captures) == 1
    exposure = CreditExposure.objects.get(customer_id=order.customer_id)
    assert exposure.open_receivables_amount == 0

    rest = FulfillmentLine.objects.filter(order_number=number).exclude(pk=fl.pk).get()
    second_shipment = Shipment.objects.filter(order_number=number).exclude(pk=shipment.pk).first() or shipment
    assert (
        advise(
            client, world, shipment=second_shipment.number, advice_id="A2", lines=[(rest.pk, 2)]
        ).status_code
        == 200
    )
    settle()
    payment.refresh_from_db()
    invoices = list(Invoice.objects.filter(order_number=number).order_by("pk"))
    assert len(invoices) == 2 and all(i.status == "paid" for i in invoices)
    assert payment.captured_amount == sum(i.total for i in invoices) == order.total
    assert payment.allocated_amount == payment.captured_amount and payment.status == "captured"
    assert len(sandbox.captures) == 2  # two partial captures, each once
    assert sandbox.intents[payment.provider_ref]["status"] == "succeeded"  # the last was final
    steps = StepInstance.objects.filter(
        process__fulfillment_line__order_number=number, task_type=TaskType.CAPTURE_PAYMENT
    )
    assert {s.status for s in steps} == {StepStatus.COMPLETED}


def test_a_declined_card_holds_the_shipment_step_until_a_new_authorization(sandbox):
    world = build_fulfillment_world()
    _process()
    client = Client()
    number = submit(client, world, order_body())["number"]
    order = SalesOrder.objects.get(number=number, is_current=True)
    declined = payment_authorize(order_id=order.pk, method="card", token="pm_card_4000000000000002", key="a1")
    assert declined.status == "failed" and order_payment_held(order.pk)
    settle()
    step = StepInstance.objects.get(
        process__fulfillment_line__order_number=number, task_type=TaskType.CREATE_SHIPMENT_REQUEST
    )
    assert step.status == StepStatus.HELD and "payment" in step.last_error
    assert not Shipment.objects.filter(order_number=number).exists()

    again = payment_authorize(order_id=order.pk, method="card", token=VISA, key="a2")
    assert again.status == "authorized" and not order_payment_held(order.pk)
    settle()
    step.refresh_from_db()
    assert step.status == StepStatus.COMPLETED
    assert Shipment.objects.filter(order_number=number).exists()
    assert Payment.objects.filter(order_id=order.pk).count() == 2

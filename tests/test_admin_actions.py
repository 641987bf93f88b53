"""Every console action does what it says: each test runs the action through the admin's changelist
(as staff do) and checks its effect on the system -- a key that works or stops working, a
delivery that goes out again, a hold released, a process canceled, a step skipped, a draft
version, an invoice paid, a price list in or out of pricing, rules reloaded -- not only a 200."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from customers.models import CreditExposure
from fulfillment.models import (
    FulfillmentEvent,
    FulfillmentLine,
    ProcessDefinition,
    ProcessInstance,
    Shipment,
    StepInstance,
)
from fulfillment.seeding import SHIP_FROM_WAREHOUSE
from fulfillment.states import DefinitionStatus, FulfillmentLineStatus, ProcessStatus, StepStatus, TaskType
from inventory.models import ChannelWarehouse, Reservation
from oms.kernel import events
from oms.kernel.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from orders.models import OrderHold
from partners.models import ChannelApiKey, Partner, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from pricing.models import PriceList, PriceListItem, PricingRulesetVersion
from tests.factories.orders import EmbargoedCountryFactory, RestrictedPartyFactory
from tests.fulfillment.conftest import advise, build_fulfillment_world, settle
from tests.fulfillment.conftest import order_body as f_order_body
from tests.fulfillment.conftest import post as f_post
from tests.orders.conftest import ADDRESS, api_get, api_post, build_world, make_channel, order_body
from tests.testapp.models import Effect

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _act(admin_client, model: str, action: str, ids: list[int]):
    response = admin_client.post(
        reverse(f"admin:{model}_changelist"), {"action": action, "_selected_action": ids}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- partners: keys, credentials, webhooks -------------------------------------------------------


def test_issue_key_shows_a_key_once_that_then_authenticates_for_that_channel(admin_client):
    world = build_world()
    messages = _act(admin_client, "partners_channel", "issue_key", [world.web.channel.pk])
    (shown,) = [m for m in messages if m.startswith("web: ")]
    raw_key = shown.split()[1]
    assert ChannelApiKey.objects.filter(channel=world.web.channel).count() == 2
    assert raw_key not in str(list(ChannelApiKey.objects.values_list("key_hash", flat=True)))  # not stored
    created = api_post(Client(), "/api/v1/orders", order_body("K-1"), key=raw_key)
    assert created.status_code == 201, created.content
    assert api_get(Client(), f"/api/v1/orders/{created.json()['number']}", key=raw_key).status_code == 200
    assert api_get(Client(), "/api/v1/orders", key="not-a-key").status_code == 401


def test_revoke_makes_the_key_stop_working_and_leaves_other_keys_alone(admin_client):
    world = build_world()
    assert api_get(Client(), "/api/v1/orders", key=world.web.key).status_code == 200
    key = ChannelApiKey.objects.get(channel=world.web.channel)
    _act(admin_client, "partners_channelapikey", "revoke", [key.pk])
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_get(Client(), "/api/v1/orders", key=world.web.key).status_code == 401
    assert api_post(Client(), "/api/v1/orders", order_body("R-1"), key=world.web.key).status_code == 401
    assert api_get(Client(), "/api/v1/orders", key=world.other.key).status_code == 200


def test_issue_credential_gives_the_partner_a_credential_its_shipment_advice_is_accepted_with(admin_client):
    world = build_fulfillment_world()
    order = f_post(Client(), "/api/v1/orders", f_order_body(), world.web.key).json()
    settle()
    shipment = Shipment.objects.get(order_number=order["number"])
    partner = Partner.objects.get(code="east-wms")
    messages = _act(admin_client, "partners_partner", "issue_credential", [partner.pk])
    (shown,) = [m for m in messages if m.startswith("east-wms: ")]
    world.partners["wh-east"].key = shown.split()[1]
    response = advise(Client(), world, shipment=shipment.number, advice_id="CRED-1")
    assert response.status_code == 200, response.content
    settle()
    assert Shipment.objects.get(pk=shipment.pk).status == "shipped"


def test_webhook_retry_queues_failed_deliveries_again_and_only_failed_ones(admin_client):
    world = build_world()
    endpoint = WebhookEndpoint.objects.create(
        channel=world.web.channel, url="http://127.0.0.1:9/hook", secret="s" * 32, topics=["order.*"]
    )
    later = timezone.now() + timezone.timedelta(hours=6)
    failed = WebhookDelivery.objects.create(
        endpoint=endpoint,
        topic="order.submitted",
        event_id=1,
        payload={"n": 1},
        status=WebhookDeliveryStatus.FAILED,
        attempts=8,
        next_attempt_at=later,
    )
    delivered = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=2,
        topic="order.submitted",
        payload={"n": 2},
        status=WebhookDeliveryStatus.DELIVERED,
    )
    from partners.services import webhook_due_ids

    assert failed.pk not in webhook_due_ids()
    messages = _act(admin_client, "partners_webhookdelivery", "retry", [failed.pk, delivered.pk])
    assert "1 delivery(ies) queued again." in messages
    failed.refresh_from_db()
    delivered.refresh_from_db()
    assert (failed.status, failed.attempts) == (WebhookDeliveryStatus.PENDING, 0)
    assert failed.next_attempt_at <= timezone.now()
    assert failed.pk in webhook_due_ids()  # the relay's next scan sends it
    assert delivered.status == WebhookDeliveryStatus.DELIVERED


# --- the outbox ----------------------------------------------------------------------------------


def test_replay_puts_a_dead_letter_back_and_the_next_relay_delivers_it_once(admin_client, settings):
    settings.OMS_OUTBOX_MAX_ATTEMPTS = 1
    events.publish("test.replayed", {"seq": 1, "poison": True}, aggregate=("order", 1))
    events.relay_run()
    dead = OutboxDelivery.objects.get(subscriber="test.flaky", status=DeliveryStatus.DEAD)
    done = OutboxDelivery.objects.get(subscriber="test.recorder")
    assert done.status == DeliveryStatus.DONE
    # The cause is fixed: the event no longer poisons the handler.
    OutboxEvent.objects.filter(pk=dead.event_id).update(payload={"seq": 1})
    messages = _act(admin_client, "kernel_outboxdelivery", "replay", [dead.pk, done.pk])
    assert "1 dead letter(s) queued again." in messages
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.PENDING, 0)
    events.relay_run()
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DONE
    assert Effect.objects.filter(subscriber="test.flaky", event_id=dead.event_id).count() == 1
    assert (
        Effect.objects.filter(subscriber="test.recorder", event_id=dead.event_id).count() == 1
    )  # not redone


# --- orders: compliance --------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["orders_restrictedparty", "orders_embargoedcountry"])
def test_rescreen_releases_the_holds_whose_cause_cleared_and_keeps_the_others(admin_client, model):
    world = build_world()
    cleared = RestrictedPartyFactory(name="Blocked Trading Co")
    RestrictedPartyFactory(name="Still Listed Ltd")
    one = api_post(
        Client(),
        "/api/v1/orders",
        order_body("H-1", ship_to={**ADDRESS, "name": "Blocked Trading Co"}),
        key=world.web.key,
    ).json()
    two = api_post(
        Client(),
        "/api/v1/orders",
        order_body("H-2", ship_to={**ADDRESS, "name": "Still Listed Ltd"}),
        key=world.web.key,
    ).json()
    holds = OrderHold.objects.filter(
        released_at__isnull=True, order__number__in=[one["number"], two["number"]]
    )
    assert holds.count() == 2
    cleared.active = False
    cleared.save()
    selected = cleared.pk if "party" in model else EmbargoedCountryFactory(country="KP").pk
    messages = _act(admin_client, model, "rescreen_held_orders", [selected])
    assert "1 compliance hold(s) released." in messages
    assert not OrderHold.objects.filter(order__number=one["number"], released_at__isnull=True).exists()
    assert OrderHold.objects.filter(order__number=two["number"], released_at__isnull=True).count() == 1


# --- fulfillment: processes, steps, definitions --------------------------------------------------


def test_cancel_processes_compensates_and_cancels_the_line(admin_client):
    world = build_fulfillment_world()
    order = f_post(Client(), "/api/v1/orders", f_order_body(), world.web.key).json()
    settle()
    fl = FulfillmentLine.objects.get(order_number=order["number"])
    reservation = Reservation.objects.get(pk=fl.reservation_id)
    assert reservation.status == "active"
    _act(admin_client, "fulfillment_processinstance", "cancel_processes", [fl.process.pk])
    settle()
    fl.refresh_from_db()
    reservation.refresh_from_db()
    assert fl.status == FulfillmentLineStatus.CANCELED
    assert ProcessInstance.objects.get(pk=fl.process.pk).status == ProcessStatus.CANCELED
    assert reservation.status == "released"  # the stock went back
    assert Shipment.objects.get(order_number=order["number"]).status == "canceled"


def test_skip_moves_a_failed_step_on_and_the_process_resumes(admin_client, settings):
    settings.OMS_STEP_RETRY_BACKOFF_SECONDS = 0
    world = build_fulfillment_world()
    lonely = make_channel("lonely", reserve=False, warehouses=[])
    f_post(Client(), "/api/v1/orders", f_order_body("L-1"), lonely.key)
    settle()
    step = StepInstance.objects.get(task_type=TaskType.SCHEDULE)
    assert step.status == StepStatus.FAILED and step.process.status == ProcessStatus.NEEDS_ATTENTION
    ChannelWarehouse.objects.create(channel=lonely.channel, warehouse=world.east, rank=1)
    _act(admin_client, "fulfillment_stepinstance", "skip", [step.pk])
    step.refresh_from_db()
    assert step.status == StepStatus.SKIPPED
    assert step.process.status == ProcessStatus.RUNNING
    following = StepInstance.objects.get(process=step.process, task_type=TaskType.RESERVE)
    assert following.status != StepStatus.PENDING  # the next step was started
    assert FulfillmentEvent.objects.filter(step=step, kind="step_skipped").exists()


def test_new_version_makes_a_draft_copy_with_the_next_number_and_the_same_steps(admin_client):
    build_fulfillment_world()
    published = ProcessDefinition.objects.get(code=SHIP_FROM_WAREHOUSE)
    _act(admin_client, "fulfillment_processdefinition", "new_version", [published.pk])
    draft = ProcessDefinition.objects.get(code=SHIP_FROM_WAREHOUSE, version=published.version + 1)
    assert draft.status == DefinitionStatus.DRAFT
    steps = ("sequence", "task_type", "compensation", "pause_offset_hours", "lead_time_hours")
    assert list(draft.steps.order_by("sequence").values_list(*steps)) == list(
        published.steps.order_by("sequence").values_list(*steps)
    )
    published.refresh_from_db()
    assert published.status == DefinitionStatus.PUBLISHED  # new lines keep the published one


# --- billing -------------------------------------------------------------------------------------


def test_mark_paid_pays_the_invoice_frees_the_credit_and_announces_it(admin_client):
    world = build_fulfillment_world()
    order = f_post(Client(), "/api/v1/orders", f_order_body(), world.web.key).json()
    settle()
    from tests.fulfillment.conftest import wake_pauses

    wake_pauses()
    settle()
    shipment = Shipment.objects.get(order_number=order["number"])
    assert advise(Client(), world, shipment=shipment.number, advice_id="PAY-1").status_code == 200
    settle()
    invoice = Invoice.objects.get(order_number=order["number"])
    exposure = CreditExposure.objects.get(customer=world.customer)
    assert invoice.status == "issued" and exposure.open_receivables_amount == invoice.total
    _act(admin_client, "billing_invoice", "mark_paid", [invoice.pk])
    invoice.refresh_from_db()
    exposure.refresh_from_db()
    assert invoice.status == "paid" and invoice.paid_at is not None
    assert exposure.open_receivables_amount == 0
    assert OutboxEvent.objects.filter(topic="invoice.paid", payload__invoice=invoice.number).count() == 1
    # A second click is refused (already paid), and changes nothing.
    messages = _act(admin_client, "billing_invoice", "mark_paid", [invoice.pk])
    assert any(invoice.number in m for m in messages)
    assert OutboxEvent.objects.filter(topic="invoice.paid").count() == 1


# --- pricing -------------------------------------------------------------------------------------


def test_deactivate_takes_a_price_list_out_of_pricing_and_activate_brings_it_back(admin_client):
    world = build_world()
    assert api_post(Client(), "/api/v1/orders", order_body("PL-1"), key=world.web.key).status_code == 201
    _act(admin_client, "pricing_pricelist", "deactivate", [world.price_list.pk])
    assert PriceList.objects.get(pk=world.price_list.pk).status == "inactive"
    refused = api_post(Client(), "/api/v1/orders", order_body("PL-2"), key=world.web.key)
    assert refused.status_code == 400, refused.content
    assert "lines[0].sku" in refused.json()["fields"]
    _act(admin_client, "pricing_pricelist", "activate", [world.price_list.pk])
    back = api_post(Client(), "/api/v1/orders", order_body("PL-3"), key=world.web.key)
    assert back.status_code == 201, back.content
    assert Decimal(back.json()["lines"][0]["unit_list_price"]) == Decimal("100.00")


def test_force_reload_makes_pricing_see_a_change_written_behind_its_back(admin_client):
    world = build_world()
    first = api_post(Client(), "/api/v1/orders", order_body("FR-1"), key=world.web.key).json()
    assert Decimal(first["lines"][0]["unit_list_price"]) == Decimal("100.00")
    # A repair straight in the database (no model signal): the cached rules still say 100.
    PriceListItem.objects.filter(price_list=world.price_list, product=world.drill).update(
        unit_price=Decimal("80")
    )
    stale = api_post(Client(), "/api/v1/orders", order_body("FR-2"), key=world.web.key).json()
    assert Decimal(stale["lines"][0]["unit_list_price"]) == Decimal("100.00")
    before = PricingRulesetVersion.objects.get()
    _act(admin_client, "pricing_pricingrulesetversion", "force_reload", [before.pk])
    after = PricingRulesetVersion.objects.get()
    assert after.version == before.version + 1 and after.token != before.token
    fresh = api_post(Client(), "/api/v1/orders", order_body("FR-3"), key=world.web.key).json()
    assert Decimal(fresh["lines"][0]["unit_list_price"]) == Decimal("80.00")

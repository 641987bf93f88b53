from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from oms.kernel import events
from partners import services
from partners.models import Channel, ChannelType, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class Receiver:
    """A real HTTP server on loopback that records what it is sent."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received: list[tuple[object, bytes]] = []
        self.on_request = lambda: None  # a test may hold a request open here
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))
                receiver.on_request()
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def _publish_and_fan_out(topic: str, payload: dict) -> events.OutboxEvent:
    with transaction.atomic():
        event = events.publish(topic, payload, aggregate=("order", payload.get("order", 1)))
    events.relay_run()
    return event


def test_matching_endpoints_get_a_signed_delivery_and_the_log_records_it():
    web = Channel.objects.create(code="web", name="Web", type=ChannelType.WEB)
    Channel.objects.create(code="pos", name="POS", type=ChannelType.POS)
    with Receiver() as receiver:
        mine = WebhookEndpoint.objects.create(
            url=receiver.url, secret="s3cret", topics=["test.*"], channel=web
        )
        WebhookEndpoint.objects.create(url=receiver.url, secret="x", topics=["order.*"])  # other topics
        event = _publish_and_fan_out("test.created", {"seq": 1, "channel": "web"})
        _publish_and_fan_out("test.created", {"seq": 2, "channel": "pos"})  # not this endpoint's channel
        delivery = WebhookDelivery.objects.get()
        assert delivery.endpoint == mine and delivery.event_id == event.pk
        services.webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.response_status == 200
    headers, body = receiver.received[0]
    assert verify("s3cret", headers["X-OMS-Signature"], body)
    assert not verify("wrong", headers["X-OMS-Signature"], body)
    doc = json.loads(body)
    assert doc["topic"] == "test.created" and doc["data"]["seq"] == 1 and doc["id"] == event.pk


def test_a_failing_endpoint_backs_off_on_its_schedule_and_finally_fails(settings):
    """Attempt n waits 2**n seconds (at most an hour) before the next; a call before that time
    sends nothing; after the last attempt the delivery fails and stays failed."""
    with Receiver(status=500) as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret="s", topics=["*"])
        _publish_and_fan_out("test.created", {"seq": 1})
        delivery = WebhookDelivery.objects.get()
        assert delivery.next_attempt_at <= timezone.now()  # the first attempt is due at once
        for attempt in range(1, services.WEBHOOK_MAX_ATTEMPTS + 1):
            sent_before = len(receiver.received)
            started = timezone.now()
            delivery = services.webhook_deliver(delivery_id=delivery.pk)
            finished = timezone.now()
            assert len(receiver.received) == sent_before + 1
            assert delivery.attempts == attempt and delivery.response_status == 500
            if attempt == services.WEBHOOK_MAX_ATTEMPTS:
                break
            wait = timedelta(seconds=min(2**attempt, 3600))
            assert started + wait <= delivery.next_attempt_at <= finished + wait, (attempt, wait)
            # Not yet due: a relay that comes early sends nothing and leaves the schedule alone.
            scheduled = delivery.next_attempt_at
            assert services.webhook_deliver(delivery_id=delivery.pk).attempts == attempt
            assert len(receiver.received) == sent_before + 1
            assert WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at == scheduled
            # Time passes: move the clock of this row to its own scheduled time, not to "now".
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=scheduled - wait)
        assert delivery.status == WebhookDeliveryStatus.FAILED
        assert len(receiver.received) == services.WEBHOOK_MAX_ATTEMPTS
        assert services.webhook_deliver(delivery_id=delivery.pk).status == WebhookDeliveryStatus.FAILED
        assert len(receiver.received) == services.WEBHOOK_MAX_ATTEMPTS


def test_a_delivery_not_yet_due_is_not_sent_twice():
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret="s", topics=["*"])
        _publish_and_fan_out("test.created", {"seq": 1})
        delivery = WebhookDelivery.objects.get()
        services.webhook_deliver(delivery_id=delivery.pk)
        services.webhook_deliver(delivery_id=delivery.pk)
    assert len(receiver.received) == 1


def test_redelivered_events_log_one_delivery_per_endpoint():
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret="s", topics=["*"])
        event = _publish_and_fan_out("test.created", {"seq": 1})
        # The fan-out handler runs again (a redelivery): the unique log row absorbs it.
        with transaction.atomic():
            services.webhooks_fan_out(
                events.Event(
                    id=event.pk,
                    topic=event.topic,
                    payload=event.payload,
                    aggregate_type="order",
                    aggregate_id="1",
                    correlation_id="",
                    created_at=event.created_at,
                    attempt=2,
                )
            )
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_second_relay_arriving_while_the_first_is_sending_does_not_send_again():
    """A forced interleaving: the first relay has claimed the delivery and its POST is held open
    by the receiver; a second relay for the same delivery runs to completion in that window."""
    from django.db import connection

    in_flight, let_answer = threading.Event(), threading.Event()
    with Receiver() as receiver:
        receiver.on_request = lambda: (in_flight.set(), let_answer.wait(timeout=30))
        WebhookEndpoint.objects.create(url=receiver.url, secret="s", topics=["*"])
        _publish_and_fan_out("test.created", {"seq": 1})
        delivery = WebhookDelivery.objects.get()
        outcome: list[WebhookDelivery] = []
        errors: list[BaseException] = []

        def first_relay():
            try:
                outcome.append(services.webhook_deliver(delivery_id=delivery.pk))
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        first = threading.Thread(target=first_relay)
        first.start()
        try:
            assert in_flight.wait(timeout=30), "the first relay never sent"
            second = services.webhook_deliver(delivery_id=delivery.pk)  # runs while the first sends
            assert second.attempts == 0 and second.status == WebhookDeliveryStatus.PENDING
        finally:
            let_answer.set()
            first.join(timeout=30)
    assert errors == []
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.DELIVERED, 1)


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_relays_claiming_the_same_delivery_at_the_same_moment_send_it_once():
    from django.db import connection

    with Receiver() as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret="s", topics=["*"])
        _publish_and_fan_out("test.created", {"seq": 1})
        delivery = WebhookDelivery.objects.get()
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def relay():
            try:
                barrier.wait(timeout=30)
                services.webhook_deliver(delivery_id=delivery.pk)
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=relay) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.DELIVERED, 1)

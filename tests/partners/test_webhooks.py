from __future__ import annotations

import hashlib
import hmac
import json
import threading
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
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))
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


def test_a_failing_endpoint_backs_off_and_finally_fails(settings):
    with Receiver(status=500) as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret="s", topics=["*"])
        _publish_and_fan_out("test.created", {"seq": 1})
        delivery = WebhookDelivery.objects.get()
        for attempt in range(1, services.WEBHOOK_MAX_ATTEMPTS + 1):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            delivery = services.webhook_deliver(delivery_id=delivery.pk)
            assert delivery.attempts == attempt and delivery.response_status == 500
        assert delivery.status == WebhookDeliveryStatus.FAILED
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

"""Status out: order, line and shipment status changes reach the channel's webhook endpoints,
signed (HMAC-SHA256 with a timestamp), retried on 500, delivered once; customer emails go out
once per order and per shipment, from per-channel templates."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from documents.models import DocumentMail
from documents.tasks import mail_sweep
from fulfillment.customer_documents import order_acknowledgement_send
from fulfillment.models import Shipment
from oms.kernel import events
from partners.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from partners.services import webhook_deliver, webhook_due_ids

from .conftest import advise, order_body, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
SECRET = "whsec-test"
REPLAY_WINDOW_SECONDS = 300


class FlakyReceiver:
    """A real HTTP server on loopback: answers 500 to the first attempt of each delivery, then 200."""

    def __init__(self):
        self.received: list[tuple[dict, bytes, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    seen = any(
                        h["x-oms-delivery"] == self.headers["X-OMS-Delivery"] for h, _, _ in receiver.received
                    )
                    status = 200 if seen else 500
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
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


def verified(header: str, body: bytes) -> bool:
    """What a receiver does: check the HMAC over timestamp + body, and refuse stale timestamps."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    if abs(time.time() - int(parts["t"])) > REPLAY_WINDOW_SECONDS:
        return False
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def _send_due() -> None:
    for delivery_id in webhook_due_ids():
        webhook_deliver(delivery_id=delivery_id)


def test_status_changes_reach_the_channel_webhook_signed_retried_and_once(fworld):
    with FlakyReceiver() as receiver:
        WebhookEndpoint.objects.create(
            channel=fworld.web.channel, url=receiver.url, secret=SECRET, topics=["order.*", "shipment.*"]
        )
        client = Client()
        ship_date = (date.today() + timedelta(days=10)).isoformat()
        number = submit(
            client,
            fworld,
            order_body(
                lines=[
                    {
                        "source_line_id": "1",
                        "sku": "DRILL-1",
                        "quantity": "1",
                        "requested_ship_date": ship_date,
                    }
                ]
            ),
        )["number"]
        settle()
        wake_pauses()
        settle()
        shipment = Shipment.objects.get(order_number=number)
        assert advise(client, fworld, shipment=shipment.number, advice_id="w1").status_code == 200
        settle()

        _send_due()  # first attempts: the receiver answers 500
        deliveries = list(WebhookDelivery.objects.filter(endpoint__channel=fworld.web.channel))
        assert deliveries and all(
            d.status == WebhookDeliveryStatus.PENDING and d.attempts == 1 for d in deliveries
        )
        assert all(d.response_status == 500 and d.next_attempt_at > timezone.now() for d in deliveries)
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the backoff is over
        _send_due()
        _send_due()  # a second sweep finds nothing to send
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
            WebhookDeliveryStatus.DELIVERED
        }
        assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {2}

    topics = [json.loads(body)["topic"] for _, body, status in receiver.received if status == 200]
    assert len(topics) == len(
        {json.loads(b)["id"] for _, b, s in receiver.received if s == 200}
    )  # no duplicates
    for wanted in (
        "order.submitted",
        "shipment.requested",
        "shipment.shipped",
        "order.status_changed",
        "order.line.status_changed",
    ):
        assert wanted in topics
    statuses = [
        json.loads(b)["data"]["status"]
        for _, b, s in receiver.received
        if s == 200 and json.loads(b)["topic"] == "order.status_changed"
    ]
    assert statuses == ["shipped", "closed"]
    assert all(verified(h["x-oms-signature"], body) for h, body, _ in receiver.received)
    headers, body, _ = receiver.received[0]
    tampered = body.replace(b'"', b"'", 1)
    assert not verified(headers["x-oms-signature"], tampered)


def test_confirmation_and_shipment_emails_go_out_once_from_the_channel_template(fworld, settings, tmp_path):
    channel_dir = tmp_path / "documents" / "email" / "web"
    channel_dir.mkdir(parents=True)
    (channel_dir / "order_acknowledgement.en.txt").write_text(
        "Your order {{ reference }} is confirmed\nWEB STORE: thanks for {{ reference }}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    client = Client()
    number = submit(client, fworld, order_body())["number"]
    settle()
    wake_pauses()
    settle()
    shipment = Shipment.objects.get(order_number=number)
    assert advise(client, fworld, shipment=shipment.number, advice_id="e1").status_code == 200
    settle()
    mail_sweep()  # the sends kicked after each commit (no worker in this test)
    subjects = [m.subject for m in mail.outbox]
    assert subjects[:2] == [f"Your order {number} is confirmed", f"Your order {number} has shipped"]
    assert mail.outbox[0].body == f"WEB STORE: thanks for {number}"
    assert shipment.number in mail.outbox[1].body and "1Ze1" in mail.outbox[1].body
    assert mail.outbox[0].to == ["buyer@customer.example"]
    # A redelivered event mails nobody twice.
    order_acknowledgement_send(order_number=number)
    mail_sweep()
    assert len(mail.outbox) == len(subjects) == DocumentMail.objects.count()
    events.relay_run()
    assert len(mail.outbox) == len(subjects)

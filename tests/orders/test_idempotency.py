"""Idempotency-Key: replay byte for byte, 422 on a different body, 409 in flight, no 5xx stored,
per-channel scope, 24 h expiry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from inventory.models import Reservation
from oms.kernel.exceptions import InFlight
from oms.kernel.models import OutboxEvent
from orders.models import IdempotencyKey, OrderEvent, SalesOrder
from orders.services import idempotency_claim, idempotency_keys_expire, request_fingerprint
from orders.tasks import idempotency_expire

from .conftest import api_post, build_world, order_body


@pytest.mark.django_db
@pytest.mark.integration
def test_a_retry_after_a_client_timeout_returns_the_original_response_byte_for_byte(client, world):
    first = api_post(client, "/api/v1/orders", order_body(), key=world.web.key, idem="k-1")
    assert first.status_code == 201
    # The client never saw `first` (it timed out) and sends the very same request again.
    retry = api_post(client, "/api/v1/orders", order_body(), key=world.web.key, idem="k-1")
    assert retry.status_code == 201
    assert retry.content == first.content
    assert retry["Content-Type"] == first["Content-Type"]
    assert retry["Idempotent-Replayed"] == "true"
    assert SalesOrder.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.integration
def test_same_key_with_a_different_body_is_422_and_writes_nothing(client, world):
    api_post(client, "/api/v1/orders", order_body(), key=world.web.key, idem="k-2")
    other = api_post(client, "/api/v1/orders", order_body("S-9"), key=world.web.key, idem="k-2")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert not SalesOrder.objects.filter(source_order_id="S-9").exists()


@pytest.mark.django_db
@pytest.mark.integration
def test_a_duplicate_while_the_first_is_in_flight_gets_409(client, world):
    body = order_body()
    import json

    fingerprint = request_fingerprint(method="POST", path="/api/v1/orders", body=json.dumps(body).encode())
    idempotency_claim(principal=f"channel:{world.web.channel.pk}", key="k-3", request_hash=fingerprint)
    response = api_post(client, "/api/v1/orders", body, key=world.web.key, idem="k-3")
    assert response.status_code == 409
    assert response.json()["code"] == "in_flight"
    assert not SalesOrder.objects.exists()


@pytest.mark.django_db
@pytest.mark.integration
def test_bad_input_answers_are_replayed_but_a_5xx_is_never_stored(client, world, monkeypatch):
    bad = api_post(client, "/api/v1/orders", order_body(currency="XXX"), key=world.web.key, idem="k-4")
    assert bad.status_code == 400
    assert (
        api_post(client, "/api/v1/orders", order_body(currency="XXX"), key=world.web.key, idem="k-4").content
        == bad.content
    )

    import orders.api.views as views

    def boom(**kwargs):
        raise RuntimeError("database went away mid-request")

    monkeypatch.setattr(views, "order_submit", boom)
    client.raise_request_exception = False
    failed = api_post(client, "/api/v1/orders", order_body("S-5"), key=world.web.key, idem="k-5")
    assert failed.status_code == 500
    assert not IdempotencyKey.objects.filter(key="k-5").exists()
    monkeypatch.undo()
    retried = api_post(client, "/api/v1/orders", order_body("S-5"), key=world.web.key, idem="k-5")
    assert retried.status_code == 201


@pytest.mark.django_db
@pytest.mark.integration
def test_the_same_key_from_another_channel_creates_that_channels_own_order(client, world):
    a = api_post(client, "/api/v1/orders", order_body(), key=world.web.key, idem="shared")
    b = api_post(client, "/api/v1/orders", order_body(), key=world.other.key, idem="shared")
    assert a.status_code == b.status_code == 201
    assert a.json()["number"] != b.json()["number"]
    assert {o.channel_id for o in SalesOrder.objects.all()} == {world.web.channel.pk, world.other.channel.pk}


@pytest.mark.django_db
@pytest.mark.unit
def test_keys_expire_after_24_hours_by_the_periodic_task(client, world):
    api_post(client, "/api/v1/orders", order_body(), key=world.web.key, idem="old")
    api_post(client, "/api/v1/orders", order_body("S-2"), key=world.web.key, idem="new")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency_expire.apply().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_keys_expire() == 0


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_fifty_threads_same_key_same_order_make_exactly_one_order():
    world = build_world()
    body = order_body("RACE-1")
    replies: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def send(key):
        try:
            barrier.wait()
            response = api_post(Client(), "/api/v1/orders", body, key=key, idem="same-key")
            with lock:
                replies.append((response.status_code, response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(world.web.key,)) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for s, _ in replies]
    assert len(replies) == 50
    assert 500 not in statuses
    assert set(statuses) <= {201, 409}
    bodies = {c for s, c in replies if s == 201}
    assert len(bodies) == 1  # every success is byte-identical to the first
    assert SalesOrder.objects.filter(channel=world.web.channel).count() == 1
    order = SalesOrder.objects.get()
    assert OrderEvent.objects.filter(order=order, kind="submitted").count() == 1
    assert OutboxEvent.objects.filter(topic="order.submitted").count() == 1
    assert Reservation.objects.filter(demand_type="order_line").count() == 1
    # The same key from another channel is that channel's own order.
    other = api_post(Client(), "/api/v1/orders", body, key=world.other.key, idem="same-key")
    assert other.status_code == 201
    assert SalesOrder.objects.filter(channel=world.other.channel).count() == 1


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_capture_stores_its_answer_in_the_orders_own_transaction():
    world = build_world()
    response = api_post(Client(), "/api/v1/orders", order_body("XMIN-1"), key=world.web.key, idem="k-xmin")
    assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM orders_salesorder WHERE source_order_id = 'XMIN-1'")
        order_xmin = cursor.fetchone()[0]
        cursor.execute("SELECT xmin::text, status FROM orders_idempotencykey WHERE key = 'k-xmin'")
        key_xmin, status = cursor.fetchone()
    assert status == "completed"
    assert key_xmin == order_xmin  # one transaction wrote both: there is no moment with only one


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_process_that_dies_right_after_the_order_commits_leaves_a_replayable_answer(monkeypatch):
    world = build_world()
    body = order_body("CRASH-1")

    def die() -> None:  # the first after-commit hook: the worker process is killed here
        raise SystemExit("worker killed")

    monkeypatch.setattr("oms.kernel.events.kick_relay", die)
    with pytest.raises(SystemExit):
        api_post(Client(), "/api/v1/orders", body, key=world.web.key, idem="k-crash")
    monkeypatch.undo()
    order = SalesOrder.objects.get(source_order_id="CRASH-1")
    # The lease runs out, and the client retries the very same request.
    IdempotencyKey.objects.filter(key="k-crash").update(locked_until=timezone.now() - timedelta(seconds=1))
    retry = api_post(Client(), "/api/v1/orders", body, key=world.web.key, idem="k-crash")
    assert retry.status_code == 201, retry.content
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["number"] == order.number
    assert SalesOrder.objects.filter(source_order_id="CRASH-1").count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_claim_outside_a_transaction_is_one_insert_committed_on_its_own(django_assert_num_queries):
    with django_assert_num_queries(1):
        claim = idempotency_claim(principal="channel:1", key="k-one", request_hash="h")
    assert claim.claimed is not None
    with pytest.raises(InFlight):  # committed: a duplicate sees it in flight
        idempotency_claim(principal="channel:1", key="k-one", request_hash="h")

"""Idempotency-Key: replay byte for byte, 422 on a different body, 409 in flight, no 5xx stored,
per-channel scope, 24 h expiry."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from inventory.models import Reservation
from oms.kernel.exceptions import InFlight, ValidationFailed
from oms.kernel.models import OutboxEvent
from orders.models import IdempotencyKey, OrderEvent, SalesOrder
from orders.services import (
    idempotency_abandon,
    idempotency_claim,
    idempotency_complete,
    idempotency_keys_expire,
    request_fingerprint,
)
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
                replies.append((response.status_code, response.content, response.get("Idempotent-Replayed")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(world.web.key,)) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(replies) == 50
    # Exactly one request did the work; every other one either found it in flight (409
    # `in_flight`, nothing else) or replayed its stored answer byte for byte.
    originals = [c for s, c, replayed in replies if s == 201 and replayed is None]
    replays = [c for s, c, replayed in replies if s == 201 and replayed == "true"]
    in_flight = [c for s, c, _ in replies if s == 409]
    assert len(originals) == 1, [(s, r) for s, _, r in replies]
    assert len(originals) + len(replays) + len(in_flight) == 50, sorted({s for s, _, _ in replies})
    assert all(c == originals[0] for c in replays)
    assert all(json.loads(c)["code"] == "in_flight" for c in in_flight)
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


def _deadlock_victim() -> OperationalError:
    class PgDeadlock(Exception):
        pgcode = "40P01"

    error = OperationalError("deadlock detected")
    error.__cause__ = PgDeadlock("deadlock detected")
    return error


@pytest.mark.django_db
@pytest.mark.integration
@pytest.mark.parametrize(
    ("error", "code"),
    [
        (OperationalError("the database system is shutting down"), "service_unavailable"),
        (_deadlock_victim(), "retry"),
    ],
    ids=["database-down", "deadlock-victim"],
)
def test_a_503_is_never_stored_and_the_retry_with_the_same_key_gets_its_order(
    client, world, monkeypatch, error, code
):
    import orders.api.views as views

    def unavailable(**kwargs):
        raise error

    monkeypatch.setattr(views, "order_submit", unavailable)
    failed = api_post(client, "/api/v1/orders", order_body("S-503"), key=world.web.key, idem="k-503")
    assert failed.status_code == 503
    assert failed.json()["code"] == code
    assert failed["Retry-After"]
    assert not IdempotencyKey.objects.filter(key="k-503").exists()  # given back, not stored
    monkeypatch.undo()
    retried = api_post(client, "/api/v1/orders", order_body("S-503"), key=world.web.key, idem="k-503")
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried
    assert SalesOrder.objects.filter(source_order_id="S-503").count() == 1


@pytest.mark.django_db
@pytest.mark.unit
@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_no_5xx_status_is_ever_kept_as_the_answer(status):
    claim = idempotency_claim(principal="channel:1", key=f"k-{status}", request_hash="h").claimed
    idempotency_complete(claim=claim, status=status, body=b"{}", content_type="application/json")
    assert not IdempotencyKey.objects.filter(key=f"k-{status}").exists()
    again = idempotency_claim(principal="channel:1", key=f"k-{status}", request_hash="h")
    assert again.claimed is not None and again.replay is None


@pytest.mark.django_db
@pytest.mark.unit
@pytest.mark.parametrize("status", [200, 201, 400, 409, 422, 499])
def test_every_answer_below_500_is_kept_and_replayed(status):
    claim = idempotency_claim(principal="channel:1", key=f"k-{status}", request_hash="h").claimed
    idempotency_complete(claim=claim, status=status, body=b'{"a":1}', content_type="application/json")
    replay = idempotency_claim(principal="channel:1", key=f"k-{status}", request_hash="h").replay
    assert replay is not None
    assert (replay.response_status, bytes(replay.response_body)) == (status, b'{"a":1}')


@pytest.mark.django_db
@pytest.mark.unit
@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("", False),
        ("k" * 255, True),
        ("k" * 256, False),
        ("line\nbreak", False),
        ("tab\there", False),
        ("caf\u00e9", False),
    ],
    ids=["empty", "255-chars", "256-chars", "newline", "tab", "not-ascii"],
)
def test_a_key_is_1_to_255_visible_ascii_characters(key, valid):
    if valid:
        assert idempotency_claim(principal="channel:1", key=key, request_hash="h").claimed is not None
        return
    with pytest.raises(ValidationFailed) as refused:
        idempotency_claim(principal="channel:1", key=key, request_hash="h")
    assert refused.value.message == "The Idempotency-Key header is not valid."
    assert refused.value.fields == {"Idempotency-Key": ["1 to 255 visible ASCII characters."]}
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
@pytest.mark.unit
def test_giving_back_a_key_that_already_has_its_answer_keeps_the_answer():
    claim = idempotency_claim(principal="channel:1", key="done", request_hash="h").claimed
    idempotency_complete(claim=claim, status=201, body=b'{"n":1}', content_type="application/json")
    idempotency_abandon(claim=claim)  # a late give-back (the request's cleanup after it answered)
    kept = IdempotencyKey.objects.get(principal="channel:1", key="done")
    assert (kept.status, kept.response_status, bytes(kept.response_body)) == ("completed", 201, b'{"n":1}')


@pytest.mark.django_db
@pytest.mark.unit
def test_giving_a_key_back_frees_that_key_only():
    mine = idempotency_claim(principal="channel:1", key="mine", request_hash="h").claimed
    idempotency_claim(principal="channel:1", key="theirs", request_hash="h")
    idempotency_claim(principal="channel:2", key="mine", request_hash="h")
    idempotency_abandon(claim=mine)
    assert set(IdempotencyKey.objects.values_list("principal", "key")) == {
        ("channel:1", "theirs"),
        ("channel:2", "mine"),
    }
    with pytest.raises(InFlight):  # the other request is still in flight
        idempotency_claim(principal="channel:1", key="theirs", request_hash="h")

"""The outbox contract every app relies on (in-process relay; worker tests are in test_outbox_worker)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from oms.kernel import events
from oms.kernel.context import correlation
from oms.kernel.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from tests.testapp.models import Effect

pytestmark = pytest.mark.integration


def _make_due():
    OutboxDelivery.objects.filter(status=DeliveryStatus.PENDING).update(available_at=timezone.now())


def _drain(rounds: int = 10) -> None:
    for _ in range(rounds):
        _make_due()
        events.relay_run()


def effects(subscriber: str, **filters) -> list[Effect]:
    return list(Effect.objects.filter(subscriber=subscriber, **filters).order_by("id"))


@pytest.mark.django_db
def test_publish_writes_the_event_and_one_delivery_per_subscriber():
    with transaction.atomic():
        event = events.publish("test.created", {"seq": 1}, aggregate=("order", 7))
    subs = set(event.deliveries.values_list("subscriber", flat=True))
    assert {"test.recorder", "test.flaky", "partners.webhooks"} <= subs
    assert all(d.aggregate_key == "order:7" for d in event.deliveries.all())


@pytest.mark.django_db
def test_publish_in_a_transaction_is_one_statement_without_a_savepoint(django_assert_num_queries):
    # Inside the caller's transaction: the event and its deliveries in one statement on
    # PostgreSQL (a data-modifying CTE), the event then its deliveries elsewhere.
    statements = 1 if connection.vendor == "postgresql" else 2
    with transaction.atomic(), django_assert_num_queries(statements):
        event = events.publish("test.created", {"seq": 1, "at": Decimal("1.50")}, aggregate=("order", 8))
    stored = OutboxEvent.objects.get(pk=event.pk)
    assert (stored.topic, stored.aggregate_key, stored.payload) == (
        "test.created",
        "order:8",
        {"seq": 1, "at": "1.50"},
    )
    deliveries = list(OutboxDelivery.objects.filter(event=stored))
    assert len(deliveries) >= 3 and len({d.subscriber for d in deliveries}) == len(deliveries)
    assert all(
        (d.status, d.attempts, d.aggregate_key, d.available_at)
        == ("pending", 0, "order:8", stored.created_at)
        for d in deliveries
    )
    events.publish("test.created", {"seq": 2}, aggregate=("order", 9))  # outside: its own transaction
    assert OutboxDelivery.objects.filter(event__aggregate_id="9").count() >= 3


@pytest.mark.django_db
def test_publish_rolls_back_with_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("test.created", {"seq": 1})
        raise RuntimeError("capture failed")
    assert not OutboxEvent.objects.exists()
    assert not OutboxDelivery.objects.exists()


@pytest.mark.django_db
def test_a_failing_subscriber_neither_blocks_nor_repeats_another(settings):
    settings.OMS_OUTBOX_BACKOFF_SECONDS = 60  # no retry inside the first relay run, however slow
    with transaction.atomic():
        event = events.publish("test.created", {"seq": 1, "fail_times": 2})
    events.relay_run()
    assert len(effects("test.recorder")) == 1
    assert effects("test.flaky") == []  # the failed attempt's write rolled back with it
    flaky = OutboxDelivery.objects.get(event=event, subscriber="test.flaky")
    assert (
        flaky.status == DeliveryStatus.PENDING and flaky.attempts == 1 and flaky.available_at > timezone.now()
    )

    assert flaky.last_error.startswith("RuntimeError: flaky handler refuses attempt 1")
    before = timezone.now()
    _drain()
    assert len(effects("test.recorder")) == 1
    assert len(effects("test.flaky")) == 1
    flaky.refresh_from_db()
    assert flaky.status == DeliveryStatus.DONE and flaky.attempts == 3
    # The done-mark records when, clears the last failure and gives the lease back.
    assert before <= flaky.done_at <= timezone.now()
    assert (flaky.last_error, flaky.leased_until) == ("", None)


@pytest.mark.django_db
def test_backoff_grows_with_each_attempt(settings):
    settings.OMS_OUTBOX_BACKOFF_SECONDS = 10
    with transaction.atomic():
        event = events.publish("test.created", {"poison": True})
    delivery = OutboxDelivery.objects.get(event=event, subscriber="test.flaky")
    delays = []
    for _ in range(2):
        before = timezone.now()
        OutboxDelivery.objects.filter(pk=delivery.pk).update(available_at=before)
        events.relay_run()
        delivery.refresh_from_db()
        delays.append((delivery.available_at - before).total_seconds())
    assert 10 <= delays[0] < 12 and 20 <= delays[1] < 23


@pytest.mark.django_db
def test_a_poison_event_is_dead_lettered_and_later_events_still_flow(settings):
    with transaction.atomic():
        poison = events.publish("test.created", {"seq": 1, "poison": True}, aggregate=("order", 1))
    _drain(rounds=settings.OMS_OUTBOX_MAX_ATTEMPTS + 1)
    dead = OutboxDelivery.objects.get(event=poison, subscriber="test.flaky")
    assert dead.status == DeliveryStatus.DEAD
    assert dead.attempts == settings.OMS_OUTBOX_MAX_ATTEMPTS
    assert "refuses" in dead.last_error

    with transaction.atomic():
        later = events.publish("test.created", {"seq": 2}, aggregate=("order", 1))
    events.relay_run()
    assert [e.event_id for e in effects("test.flaky")] == [later.pk]
    assert events.outbox_backlog() == {"pending": 0, "dead": 1}


@pytest.mark.django_db
def test_a_replayed_dead_letter_is_delivered_once():
    with transaction.atomic():
        event = events.publish("test.created", {"seq": 1, "fail_times": 1})
    OutboxDelivery.objects.filter(event=event, subscriber="test.flaky").update(status=DeliveryStatus.DEAD)
    dead_id = OutboxDelivery.objects.get(event=event, subscriber="test.flaky").pk
    assert events.deliveries_replay(delivery_ids=[dead_id]) == 1
    _drain()
    assert len(effects("test.flaky")) == 1
    assert events.deliveries_replay(delivery_ids=[dead_id]) == 0  # done is final


@pytest.mark.django_db
def test_replay_requeues_only_the_named_dead_letters_due_now_with_no_lease_and_a_kick_failure_is_not_raised(
    monkeypatch, django_capture_on_commit_callbacks
):
    with transaction.atomic():
        first = events.publish("test.created", {"seq": 1})
        second = events.publish("test.created", {"seq": 2})
    long_ago = timezone.now() - timedelta(days=2)
    dead = OutboxDelivery.objects.filter(event__in=[first, second], subscriber="test.flaky")
    dead.update(
        status=DeliveryStatus.DEAD,
        attempts=4,
        available_at=long_ago + timedelta(days=30),  # a far backoff must not keep a replay waiting
        leased_until=long_ago,
        lease_token="stale-relay",
    )
    replayed, untouched = dead.get(event=first), dead.get(event=second)

    def broker_bug() -> None:
        raise RuntimeError("kick failed")

    monkeypatch.setattr(events, "kick_relay", broker_bug)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as kicks, transaction.atomic():
        assert events.deliveries_replay(delivery_ids=[replayed.pk]) == 1
    assert len(kicks) == 1  # the replay commits though its kick failed (robust on_commit)
    replayed.refresh_from_db()
    assert replayed.status == DeliveryStatus.PENDING and replayed.attempts == 0
    assert before <= replayed.available_at <= timezone.now()
    assert (replayed.leased_until, replayed.lease_token) == (None, "")
    untouched.refresh_from_db()
    assert (untouched.status, untouched.lease_token) == (DeliveryStatus.DEAD, "stale-relay")


@pytest.mark.django_db
def test_events_of_one_order_reach_a_subscriber_in_publish_order(settings):
    # Backoff long enough that the failed head is not retried within the first relay run.
    settings.OMS_OUTBOX_BACKOFF_SECONDS = 60
    with transaction.atomic():
        for seq in range(1, 11):
            # The third event fails twice: events 4..10 of the same order must wait for it.
            events.publish(
                "test.changed", {"seq": seq, "fail_times": 2 if seq == 3 else 0}, aggregate=("order", 42)
            )
            events.publish("test.changed", {"seq": seq}, aggregate=("order", 43))
    events.relay_run()
    assert [e.seq for e in effects("test.flaky", aggregate_id="42")] == [1, 2]
    assert [e.seq for e in effects("test.flaky", aggregate_id="43")] == list(range(1, 11))
    _drain()
    assert [e.seq for e in effects("test.flaky", aggregate_id="42")] == list(range(1, 11))
    assert [e.seq for e in effects("test.recorder", aggregate_id="42")] == list(range(1, 11))


@pytest.mark.django_db
def test_the_correlation_id_rides_into_the_handler():
    with correlation("req-abc123"), transaction.atomic():
        event = events.publish("test.created", {"seq": 1})
    assert event.correlation_id == "req-abc123"
    events.relay_run()
    assert effects("test.recorder")[0].correlation_id == "req-abc123"


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(settings):
    with transaction.atomic():
        event = events.publish("test.created", {"seq": 1})
    delivery = OutboxDelivery.objects.get(event=event, subscriber="test.recorder")
    assert events._claim(100, "old-relay")
    OutboxDelivery.objects.filter(pk=delivery.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert delivery.pk in events._claim(100, "new-relay")
    assert events._deliver(delivery.pk, "old-relay") is False
    assert events._deliver(delivery.pk, "new-relay") is True
    assert len(effects("test.recorder")) == 1


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_relays_racing_deliver_nothing_twice():
    with transaction.atomic():
        published = [events.publish("test.race", {"seq": i}, aggregate=("order", i % 7)) for i in range(150)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def relay():
        try:
            barrier.wait()
            for _ in range(5):
                events.relay_run(batch_size=10)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    rec = effects("test.recorder")
    assert len(rec) == len(published)
    assert len({e.event_id for e in rec}) == len(published)
    for agg in range(7):
        seqs = [e.seq for e in rec if e.aggregate_id == str(agg)]
        assert seqs == sorted(seqs)
    assert not OutboxDelivery.objects.filter(subscriber="test.recorder").exclude(status="done").exists()


@pytest.mark.django_db
def test_prune_forgets_only_old_fully_handled_events(settings):
    with transaction.atomic():
        handled = events.publish("test.created", {"seq": 1})
        poison = events.publish("test.created", {"seq": 2, "poison": True})
    _drain(rounds=settings.OMS_OUTBOX_MAX_ATTEMPTS + 1)
    with transaction.atomic():
        fresh = events.publish("test.created", {"seq": 3})
    events.relay_run()
    old = timezone.now() - timedelta(days=30)
    OutboxEvent.objects.filter(pk__in=[handled.pk, poison.pk]).update(created_at=old)

    assert events.outbox_prune(older_than_days=14) == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {poison.pk, fresh.pk}
    assert OutboxDelivery.objects.filter(event=poison, status=DeliveryStatus.DEAD).exists()


def _queued_messages() -> int:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    return sum(client.llen(key) for key in client.keys(f"{queue}*") if client.type(key) == b"list")


@pytest.mark.redis
@pytest.mark.django_db
def test_kicks_coalesce_while_a_kicked_relay_has_not_started():
    """One broker message per relay run, not per commit: a queued relay that has not started will
    claim every delivery committed before it starts; it clears the mark as it starts."""
    from oms.kernel import tasks

    events.kick_pending_clear()
    before = _queued_messages()
    for _ in range(5):
        events.kick_relay()
    assert _queued_messages() == before + 1
    tasks.outbox_relay()  # the relay's body, as a worker runs it: clears the mark, then claims
    events.kick_relay()
    assert _queued_messages() == before + 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_relay_killed_after_its_handlers_ran_but_before_the_done_marks_leaves_no_effect_behind(
    monkeypatch, settings
):
    """The crash the batch transaction exists for: handlers have written their effects, the
    process dies before the deliveries are marked done. Nothing of the batch may have committed,
    or the redelivery after the lease runs out would do every effect twice."""
    settings.OMS_OUTBOX_BACKOFF_SECONDS = 0
    with transaction.atomic():
        published = [events.publish("test.crash", {"seq": i}, aggregate=("order", i)) for i in range(6)]
    ran: list[int] = []
    real_run = events._run_handler

    def run_and_count(delivery):
        real_run(delivery)
        ran.append(delivery.pk)

    def killed(ids):
        raise SystemExit("relay process killed before its done-marks")

    monkeypatch.setattr(events, "_run_handler", run_and_count)
    monkeypatch.setattr(events, "_mark_done", killed)
    with pytest.raises(SystemExit):
        events.relay_run()
    assert ran, "the handlers ran before the crash"
    assert effects("test.recorder") == []  # their effects went down with the batch
    assert not OutboxDelivery.objects.filter(status=DeliveryStatus.DONE).exists()

    monkeypatch.undo()
    OutboxDelivery.objects.update(leased_until=timezone.now() - timedelta(seconds=1))  # the lease ran out
    _drain()
    rec = effects("test.recorder")
    assert sorted(e.event_id for e in rec) == sorted(e.pk for e in published)  # each exactly once
    assert not OutboxDelivery.objects.filter(subscriber="test.recorder").exclude(status="done").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_commits_once_with_every_handlers_effect_beside_its_done_mark(monkeypatch, caplog):
    """One commit per claimed batch: each handler runs in the batch's transaction (its
    `txid_current()`, which a savepoint shares with its parent) and that same transaction wrote
    every done-mark of the batch (the rows' xmin)."""
    with transaction.atomic():
        for i in range(8):
            events.publish("test.batch", {"seq": i}, aggregate=("order", i))
    handler_txids: dict[int, str] = {}
    real_run = events._run_handler

    def run_and_note_transaction(delivery):
        real_run(delivery)
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()::text")
            handler_txids[delivery.pk] = cursor.fetchone()[0]

    monkeypatch.setattr(events, "_run_handler", run_and_note_transaction)
    with caplog.at_level("WARNING", logger="oms.kernel.events"):
        events.relay_run(batch_size=100)
    assert "failed as a whole" not in caplog.text  # the batch path, not the one-by-one fallback
    assert len(effects("test.recorder")) == 8
    done = dict(
        OutboxDelivery.objects.filter(status=DeliveryStatus.DONE)
        .extra(select={"writer": "xmin::text"})
        .values_list("pk", "writer")
    )
    assert set(done) == set(handler_txids)
    assert len(set(handler_txids.values())) == 1, (
        f"{len(set(handler_txids.values()))} transactions for one batch"
    )
    assert all(done[pk] == handler_txids[pk] for pk in done)  # each effect beside its done-mark


@pytest.mark.django_db(transaction=True)
def test_when_a_batch_breaks_each_delivery_is_retried_alone_and_a_failure_is_recorded_on_its_row(
    monkeypatch, settings
):
    settings.OMS_OUTBOX_BACKOFF_SECONDS = 60
    with transaction.atomic():
        event = events.publish("test.split", {"seq": 1, "fail_times": 1}, aggregate=("order", 5))
    real_mark_done = events._mark_done
    calls: list[list[int]] = []

    def break_the_batch_once(ids):
        calls.append(list(ids))
        if len(calls) == 1:
            raise DatabaseError("the batch's transaction broke")
        real_mark_done(ids)

    monkeypatch.setattr(events, "_mark_done", break_the_batch_once)
    before = timezone.now()
    result = events.relay_run()
    assert len(calls) > 2  # the batch once, then one delivery at a time
    assert result.failed == 1 and result.delivered >= 1
    recorder = OutboxDelivery.objects.get(event=event, subscriber="test.recorder")
    assert (recorder.status, recorder.attempts) == (DeliveryStatus.DONE, 1)
    assert len(effects("test.recorder")) == 1
    flaky = OutboxDelivery.objects.get(event=event, subscriber="test.flaky")
    assert (flaky.status, flaky.attempts) == (DeliveryStatus.PENDING, 1)
    assert "flaky handler refuses attempt 1" in flaky.last_error
    assert flaky.available_at >= before + timedelta(seconds=60)  # backed off, not retried at once
    assert flaky.leased_until is None
    assert effects("test.flaky") == []  # its effect rolled back with the failed attempt

"""The transactional outbox: how work flows leftwards between apps, and out to webhooks.

`publish(topic, payload, aggregate=("order", 42))` writes the event and one delivery row per
registered subscriber in the caller's transaction. A relay (Celery task, kicked after commit and
by a periodic sweep) claims due deliveries, runs each handler and marks the delivery done in the
handler's own transaction, so a redelivery changes nothing twice. Failures back off and, after
the maximum, park as dead letters (admin: replay). Deliveries of one aggregate reach a subscriber
in publish order; a dead letter stops blocking that order (it is parked, not pending).

Subscribers register in their app's `AppConfig.ready()`:

    @events.subscriber("fulfillment.orchestrate", topics=["order.submitted"])
    def start_orchestration(event: events.Event) -> None: ...
"""

from __future__ import annotations

import fnmatch
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from . import dbretry
from .context import correlation, get_correlation_id
from .exceptions import DomainError
from .models import DeliveryStatus, OutboxDelivery, OutboxEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    payload: dict[str, Any]
    aggregate_type: str
    aggregate_id: str
    correlation_id: str
    created_at: datetime
    attempt: int  # 1 on the first try


Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    topics: tuple[str, ...]  # fnmatch patterns: "order.submitted", "order.*", "*"
    handler: Handler

    def wants(self, topic: str) -> bool:
        return topic_matches(topic, self.topics)


def topic_matches(topic: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(topic, pattern) for pattern in patterns)


_subscribers: dict[str, Subscriber] = {}


def subscriber(name: str, *, topics: Iterable[str]) -> Callable[[Handler], Handler]:
    """Register a handler under a stable name (the name keys its delivery rows: never rename)."""

    def register(handler: Handler) -> Handler:
        existing = _subscribers.get(name)
        if existing and existing.handler is not handler:
            raise ValueError(f"Subscriber '{name}' is already registered")
        _subscribers[name] = Subscriber(name=name, topics=tuple(topics), handler=handler)
        return handler

    return register


def subscribers_for(topic: str) -> list[Subscriber]:
    return [s for s in _subscribers.values() if s.wants(topic)]


def get_subscriber(name: str) -> Subscriber | None:
    return _subscribers.get(name)


# --- publishing ----------------------------------------------------------------------------


def publish(topic: str, payload: dict[str, Any], *, aggregate: tuple[str, Any] | None = None) -> OutboxEvent:
    """Record `topic` with its payload in the current transaction, one delivery per subscriber."""
    aggregate_type, aggregate_id = (aggregate[0], str(aggregate[1])) if aggregate else ("", "")
    subs = subscribers_for(topic)
    event = OutboxEvent(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        correlation_id=get_correlation_id(),
    )
    # No savepoint: a failure here must fail the caller's whole transaction anyway (a business
    # change never commits without its event), and outside one this still opens a transaction.
    with transaction.atomic(savepoint=False):
        if subs and connection.vendor == "postgresql":
            _insert_with_deliveries(event, [s.name for s in subs])
        else:
            event.save(force_insert=True)
            if subs:
                OutboxDelivery.objects.bulk_create(
                    [
                        OutboxDelivery(
                            event=event,
                            subscriber=s.name,
                            aggregate_key=event.aggregate_key,
                            available_at=event.created_at,
                        )
                        for s in subs
                    ]
                )
        if subs:
            _kick_once_after_commit()
    return event


def publish_many(topic: str, items: Iterable[tuple[dict[str, Any], tuple[str, Any]]]) -> int:
    """`publish` for many aggregates at once (a set-based scan that changed thousands of orders):
    the events and their deliveries in a few batched INSERTs, in the caller's transaction."""
    subs = subscribers_for(topic)
    correlation_id = get_correlation_id()
    events_ = [
        OutboxEvent(
            topic=topic,
            aggregate_type=aggregate[0],
            aggregate_id=str(aggregate[1]),
            payload=payload,
            correlation_id=correlation_id,
        )
        for payload, aggregate in items
    ]
    if not events_:
        return 0
    with transaction.atomic(savepoint=False):
        OutboxEvent.objects.bulk_create(events_, batch_size=2000)
        if subs:
            OutboxDelivery.objects.bulk_create(
                [
                    OutboxDelivery(
                        event=e, subscriber=s.name, aggregate_key=e.aggregate_key, available_at=e.created_at
                    )
                    for e in events_
                    for s in subs
                ],
                batch_size=2000,
            )
            _kick_once_after_commit()
    return len(events_)


def _insert_with_deliveries(event: OutboxEvent, subscribers: list[str]) -> None:
    """The event and its deliveries in one statement (a data-modifying CTE): every capture and
    state change publishes, and a round trip plus the ORM's INSERT compilation cost more than
    the rows. Columns and defaults come from the models, so the two stay in step."""
    quote = connection.ops.quote_name
    event_table, delivery_table = quote(OutboxEvent._meta.db_table), quote(OutboxDelivery._meta.db_table)
    event_fields = [f for f in OutboxEvent._meta.concrete_fields if not f.primary_key]
    delivery = OutboxDelivery(event_id=0, aggregate_key=event.aggregate_key, available_at=event.created_at)
    delivery_fields = [
        f for f in OutboxDelivery._meta.concrete_fields if not f.primary_key and f.attname != "subscriber"
    ]
    event_values = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in event_fields]
    delivery_values = [f.get_db_prep_save(f.pre_save(delivery, True), connection) for f in delivery_fields]
    event_id_column = OutboxDelivery._meta.get_field("event").column
    delivery_columns = [f.column for f in delivery_fields if f.column != event_id_column]
    delivery_params = [
        v for f, v in zip(delivery_fields, delivery_values, strict=True) if f.column != event_id_column
    ]
    id_ = quote("id")
    insert_event = (
        f"INSERT INTO {event_table} ({', '.join(quote(f.column) for f in event_fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(event_fields))}) RETURNING {id_}"
    )
    insert_deliveries = (
        f"INSERT INTO {delivery_table} ({quote(event_id_column)}, {quote('subscriber')}, "  # noqa: S608
        f"{', '.join(quote(c) for c in delivery_columns)}) "
        f"SELECT e.{id_}, s.name, {', '.join(['%s'] * len(delivery_columns))} "
        f"FROM e CROSS JOIN (VALUES {', '.join(['(%s)'] * len(subscribers))}) AS s(name)"
    )
    sql = f"WITH e AS ({insert_event}), d AS ({insert_deliveries}) SELECT {id_} FROM e"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*event_values, *delivery_params, *subscribers])
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def _kick_once_after_commit() -> None:
    # One kick per transaction however many events it publishes.
    if connection.in_atomic_block and any(entry[1] is kick_relay for entry in connection.run_on_commit):
        return
    transaction.on_commit(kick_relay, robust=True)


KICK_PENDING_KEY = "oms:outbox:kick-pending"
KICK_PENDING_SECONDS = 5  # a kick whose relay never starts (a lost message) stops coalescing after this


def kick_relay() -> None:
    """Ask a worker to drain the outbox now. A broker outage is logged, never raised: the
    periodic sweep delivers what this kick could not announce.

    Kicks coalesce: while a kicked relay is queued and has not started, another kick would only
    queue a second relay that finds nothing, so it is skipped -- the queued relay starts after
    this commit and claims its deliveries. The relay clears the mark as it starts (before it
    claims). Under load this turns one broker message per capture into one per relay run."""
    from .tasks import outbox_relay

    if _kick_pending_mark():
        return
    try:
        outbox_relay.apply_async(retry=False)
    except Exception as exc:  # the broker is down or slow; the sweep will deliver
        log.warning("outbox relay kick failed, the sweep will deliver: %s", exc)
        kick_pending_clear()


def _kick_pending_mark() -> bool:
    """True when a kick is already pending; else marks one (SET NX) and returns False. Without a
    shared Redis (a per-process cache cannot coalesce across processes) every kick is sent."""
    from .cache import redis_command

    return redis_command(
        KICK_PENDING_KEY, lambda client, key: not client.set(key, 1, nx=True, ex=KICK_PENDING_SECONDS), False
    )


def kick_pending_clear() -> None:
    from .cache import redis_command

    redis_command(KICK_PENDING_KEY, lambda client, key: client.delete(key), None)  # else it expires


# --- relaying -------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    base = settings.OMS_OUTBOX_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    delay = min(base, settings.OMS_OUTBOX_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=delay * random.uniform(1.0, 1.1))  # jitter spreads a thundering herd


def _claim(batch_size: int, token: str) -> list[int]:
    """Lease up to `batch_size` due deliveries that head their aggregate's queue.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so racing relays take disjoint rows. SQLite ignores row
    locks, but its IMMEDIATE transactions serialize writers, so the conditional UPDATE of the
    lease below is the claim there.
    """
    now = timezone.now()
    earlier_pending = OutboxDelivery.objects.filter(
        subscriber=OuterRef("subscriber"),
        aggregate_key=OuterRef("aggregate_key"),
        status=DeliveryStatus.PENDING,
        id__lt=OuterRef("id"),
    )
    due = (
        OutboxDelivery.objects.filter(status=DeliveryStatus.PENDING, available_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .filter(Q(aggregate_key="") | ~Exists(earlier_pending))
        .order_by("id")
    )
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return []
        until = now + timedelta(seconds=settings.OMS_OUTBOX_LEASE_SECONDS)
        OutboxDelivery.objects.filter(id__in=ids, status=DeliveryStatus.PENDING).filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now)
        ).update(leased_until=until, lease_token=token)
        return list(
            OutboxDelivery.objects.filter(id__in=ids, lease_token=token)
            .order_by("id")
            .values_list("id", flat=True)
        )


def _event_for(delivery: OutboxDelivery) -> Event:
    ev = delivery.event
    return Event(
        id=ev.pk,
        topic=ev.topic,
        payload=ev.payload,
        aggregate_type=ev.aggregate_type,
        aggregate_id=ev.aggregate_id,
        correlation_id=ev.correlation_id,
        created_at=ev.created_at,
        attempt=delivery.attempts + 1,
    )


def _run_handler(delivery: OutboxDelivery) -> None:
    sub = get_subscriber(delivery.subscriber)
    if sub is None:
        raise LookupError(f"No subscriber named '{delivery.subscriber}' in this process")
    with correlation(delivery.event.correlation_id or None):
        sub.handler(_event_for(delivery))


def _failure_fields(delivery: OutboxDelivery, exc: Exception) -> dict[str, Any]:
    attempts = delivery.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:4000]
    fields: dict[str, Any] = {"attempts": attempts, "leased_until": None, "last_error": error}
    # A domain error will not fix itself by waiting: park it at once.
    if attempts >= settings.OMS_OUTBOX_MAX_ATTEMPTS or isinstance(exc, DomainError):
        fields["status"] = DeliveryStatus.DEAD
        log.error("outbox delivery %s to %s dead-lettered: %s", delivery.pk, delivery.subscriber, error)
    else:
        fields["available_at"] = timezone.now() + _backoff(attempts)
        log.warning(
            "outbox delivery %s to %s failed (attempt %s): %s",
            delivery.pk,
            delivery.subscriber,
            attempts,
            error,
        )
    return fields


def _mark_done(ids: list[int]) -> None:
    OutboxDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.DONE,
        attempts=F("attempts") + 1,
        done_at=timezone.now(),
        leased_until=None,
        last_error="",
    )


def _deliver(delivery_id: int, token: str) -> bool:
    """Run one handler; its effect and the 'done' mark commit together or not at all."""
    try:
        dbretry.run(lambda: _deliver_once(delivery_id, token), what="outbox delivery")
        return True
    except _NotOurs:
        return False
    except Exception as exc:
        _record_failure(delivery_id, token, exc)
        return False


class _NotOurs(Exception):
    """Another relay took the delivery over after our lease ran out."""


def _deliver_once(delivery_id: int, token: str) -> None:
    with transaction.atomic():
        delivery = (
            OutboxDelivery.objects.select_for_update(of=("self",)).select_related("event").get(pk=delivery_id)
        )
        if delivery.status != DeliveryStatus.PENDING or delivery.lease_token != token:
            raise _NotOurs()
        _run_handler(delivery)
        _mark_done([delivery_id])


def _record_failure(delivery_id: int, token: str, exc: Exception) -> None:
    with transaction.atomic():
        delivery = OutboxDelivery.objects.select_for_update(of=("self",)).get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING or delivery.lease_token != token:
            return
        OutboxDelivery.objects.filter(pk=delivery_id).update(**_failure_fields(delivery, exc))


def _handle_in_savepoint(delivery: OutboxDelivery) -> None:
    with transaction.atomic():
        _run_handler(delivery)


def _deliver_batch(ids: list[int], token: str) -> tuple[int, int]:
    """Deliver a claimed batch in one transaction, each handler inside its own savepoint.

    A commit costs a disk flush; one per batch instead of one per delivery is what makes the relay
    fast. Each handler's effect and its delivery's done-mark still commit together; a failing
    handler rolls back to its savepoint and only its own delivery records the failure. The batch
    holds only heads of aggregate queues (see _claim), so ordering is unaffected. If the batch
    transaction itself breaks, the deliveries are retried one by one.
    """
    try:
        with transaction.atomic():
            rows = list(
                OutboxDelivery.objects.select_for_update(of=("self",))
                .select_related("event")
                .filter(pk__in=ids, status=DeliveryStatus.PENDING, lease_token=token)
                .order_by("id")
            )
            done: list[int] = []
            failed: list[tuple[OutboxDelivery, Exception]] = []
            for delivery in rows:
                try:
                    dbretry.run(
                        lambda d=delivery: _handle_in_savepoint(d), what="outbox delivery", savepoint=True
                    )
                    done.append(delivery.pk)
                except Exception as exc:
                    failed.append((delivery, exc))
            if done:
                _mark_done(done)
            for delivery, exc in failed:
                OutboxDelivery.objects.filter(pk=delivery.pk).update(**_failure_fields(delivery, exc))
        return len(done), len(failed)
    except DatabaseError as exc:
        log.warning("outbox batch of %s failed as a whole (%s); delivering one by one", len(ids), exc)
        results = [_deliver(delivery_id, token) for delivery_id in ids]
        return sum(results), len(results) - sum(results)


@dataclass
class RelayResult:
    delivered: int = 0
    failed: int = 0


def relay_run(*, batch_size: int = 100, max_batches: int = 50) -> RelayResult:
    """Drain due deliveries. Safe to run in many processes at once."""
    result = RelayResult()
    token = uuid.uuid4().hex
    for _ in range(max_batches):
        ids = _claim(batch_size, token)
        if not ids:
            break
        delivered, failed = _deliver_batch(ids, token)
        result.delivered += delivered
        result.failed += failed
    return result


def deliveries_replay(*, delivery_ids: Iterable[int]) -> int:
    """Put dead letters back in the queue (after the cause was fixed)."""
    with transaction.atomic():
        count = OutboxDelivery.objects.filter(pk__in=list(delivery_ids), status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING,
            attempts=0,
            available_at=timezone.now(),
            leased_until=None,
            lease_token="",
        )
        if count:
            transaction.on_commit(kick_relay, robust=True)
        return count


def outbox_backlog() -> dict[str, int]:
    """Pending and dead-letter counts, for /metrics and the admin."""
    from django.db.models import Count

    rows = OutboxDelivery.objects.exclude(status=DeliveryStatus.DONE).values("status").annotate(n=Count("id"))
    counts = {r["status"]: r["n"] for r in rows}
    return {"pending": counts.get(DeliveryStatus.PENDING, 0), "dead": counts.get(DeliveryStatus.DEAD, 0)}


def outbox_prune(*, older_than_days: int | None = None) -> int:
    """Delete events whose every delivery is done and that are older than the retention period.

    Two set-based statements; pending and dead deliveries (and their events) are always kept."""
    days = settings.OMS_OUTBOX_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=days))
    finished = (
        "SELECT e.id FROM kernel_outboxevent e WHERE e.created_at < %s AND NOT EXISTS "
        "(SELECT 1 FROM kernel_outboxdelivery d WHERE d.event_id = e.id AND d.status <> 'done')"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM kernel_outboxdelivery WHERE event_id IN ({finished})", [cutoff])  # noqa: S608
        cursor.execute(f"DELETE FROM kernel_outboxevent WHERE id IN ({finished})", [cutoff])  # noqa: S608
        return cursor.rowcount

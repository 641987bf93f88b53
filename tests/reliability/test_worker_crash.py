"""SIGKILL a Celery worker in the middle of a step: after a restart the step completes once.

The step is an outbox delivery (a subscriber's handler and its 'done' mark commit together). The
test holds a lock on the handler's table, so the worker is provably inside the handler, with its
transaction open, when it is killed; its work rolls back with the dead connection, the lease
runs out, the sweep hands the delivery to the new worker, and the effect happens exactly once.
"""

from __future__ import annotations

import signal

import psycopg2
import pytest
from django.db import transaction

from oms.kernel import events
from oms.kernel.models import DeliveryStatus, OutboxDelivery
from tests.support.services import database_url, wait_until
from tests.testapp.models import Effect

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

FAST_RECOVERY = {"OMS_OUTBOX_LEASE_SECONDS": "3", "CELERY_VISIBILITY_TIMEOUT": "5"}


def _handler_blocked(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO \"testapp_effect\"%%'"
        )
        return cur.fetchone()[0] > 0


def _handler_backend_alive(conn) -> bool:
    """Whether a session other than ours is still inside the handler's INSERT (or idle in its
    transaction after it)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle'"
            " AND query ILIKE 'INSERT INTO \"testapp_effect\"%%'"
        )
        return cur.fetchone()[0] > 0


def test_a_worker_killed_inside_a_step_leaves_it_to_complete_once_after_restart(celery_worker_factory):
    blocker = psycopg2.connect(database_url())
    try:
        with blocker.cursor() as cur:  # the handler's INSERT waits behind this lock
            cur.execute("LOCK TABLE testapp_effect IN SHARE ROW EXCLUSIVE MODE")
        worker = celery_worker_factory(beat=True, env=FAST_RECOVERY)
        with transaction.atomic():
            event = events.publish("test.created", {"seq": 1}, aggregate=("order", "crash-1"))
        watcher = psycopg2.connect(database_url())
        watcher.autocommit = True
        wait_until(lambda: _handler_blocked(watcher), timeout=60, message="the handler inside its step")
        delivery = OutboxDelivery.objects.get(event=event, subscriber="test.recorder")
        assert delivery.status == DeliveryStatus.PENDING and delivery.leased_until is not None

        worker.stop(signal.SIGKILL)
        assert worker.proc.returncode == -signal.SIGKILL
        blocker.rollback()  # the dead worker's INSERT now runs, then rolls back with its connection
        wait_until(
            lambda: not _handler_backend_alive(watcher),
            timeout=30,
            message="the dead worker's database session to end (rolling its work back)",
        )
        assert not Effect.objects.filter(subscriber="test.recorder", event_id=event.pk).exists()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING

        restarted = celery_worker_factory(beat=True, env=FAST_RECOVERY)
        wait_until(
            lambda: OutboxDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DONE).exists(),
            timeout=60,
            message="the step completed by the restarted worker",
        )
        # Stop the worker (a warm shutdown finishes what it runs): whatever it was going to do
        # is done, so the counts below are final, not a guess after a pause.
        restarted.stop()
        assert Effect.objects.filter(subscriber="test.recorder", event_id=event.pk).count() == 1
        assert Effect.objects.filter(subscriber="test.flaky", event_id=event.pk).count() == 1
        delivery.refresh_from_db()
        assert delivery.attempts == 1  # the killed attempt left no trace; the rerun is the only one
        watcher.close()
    finally:
        blocker.close()

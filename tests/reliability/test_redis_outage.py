"""Redis (broker and throttle cache) stops while orders arrive over HTTP: the API keeps taking
orders (the outbox row commits with the order) and every event is delivered once Redis is back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from oms.kernel.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from orders.models import SalesOrder
from tests.support.services import RedisServer, wait_until

from .conftest import post_order, reply_json

pytestmark = [pytest.mark.worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.integration]


def test_orders_are_captured_while_redis_is_down_and_their_events_delivered_after(
    tmp_path, world, celery_worker_factory, web_factory
):
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        env = {"REDIS_URL": redis.url}
        worker = celery_worker_factory(beat=True, env=env)
        web = web_factory(**env)
        before = post_order(web, world)
        assert before.status == 201, before.body

        redis.stop()
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda _: post_order(web, world), range(12)))
        elapsed = time.monotonic() - started
        assert [r.status for r in replies] == [201] * 12, [(r.status, r.body[:200]) for r in replies]
        assert elapsed < 30, f"12 orders took {elapsed:.1f}s while Redis was down"
        numbers = [reply_json(r)["number"] for r in replies]
        assert SalesOrder.objects.filter(number__in=numbers).count() == 12
        events = OutboxEvent.objects.filter(topic="order.submitted", aggregate_id__in=numbers)
        assert events.count() == 12
        # The web process tried to kick the relay and could not; the worker has lost its broker.
        # Both are facts in their logs (waited for, not slept on). A relay that was already
        # running when Redis stopped needs no broker and may still drain some rows; what it has
        # not reached waits for Redis.
        wait_until(
            lambda: "outbox relay kick failed" in web.log_path.read_text(errors="replace"),
            timeout=30,
            message="the web process's failed relay kick",
        )

        def worker_lost_its_broker() -> bool:
            log = worker.log_path.read_text(errors="replace")
            return worker.proc.poll() is not None or any(
                sign in log
                for sign in ("Connection to broker lost", "Cannot connect to redis", "Unrecoverable error")
            )

        wait_until(worker_lost_its_broker, timeout=30, message="the worker to notice the broker is gone")
        pending = OutboxDelivery.objects.filter(event__in=events)
        assert pending.count() >= 12 * 3  # every event has its delivery rows, committed with its order

        redis.start()  # same port: worker, beat and web reconnect

        def settled_or_worker_died() -> bool:
            return (
                worker.proc.poll() is not None or not pending.filter(status=DeliveryStatus.PENDING).exists()
            )

        try:
            wait_until(settled_or_worker_died, timeout=90, message="deliveries settled after Redis came back")
            if worker.proc.poll() is not None:
                # kombu 5.x can die on a lost connection while it restores an unacknowledged
                # message ("Unrecoverable error: AttributeError ... 'hostname'"); a process
                # supervisor restarts it, as compose's restart policy does. The outbox makes that safe.
                assert "Unrecoverable error" in worker.log_path.read_text(errors="replace"), worker.log_tail()
                celery_worker_factory(beat=True, env=env)
                wait_until(
                    lambda: not pending.filter(status=DeliveryStatus.PENDING).exists(),
                    timeout=90,
                    message="every delivery settled after the worker was restarted",
                )
        except AssertionError:
            rows = pending.values_list("subscriber", "status", "attempts", "last_error")
            raise AssertionError(f"deliveries not settled: {list(rows)[:10]}") from None
        # Every subscriber got every event; the outbound webhooks (no endpoint) are done. A
        # subscriber may refuse an event on its merits (dead letter), never for the outage.
        assert not pending.filter(attempts=0).exists()
        webhooks = pending.filter(subscriber="partners.webhooks")
        assert webhooks.count() == 12
        assert set(webhooks.values_list("status", flat=True)) == {DeliveryStatus.DONE}
        assert not pending.filter(last_error__icontains="connect").exists()
        after = post_order(web, world)
        assert after.status == 201, after.body
    finally:
        redis.stop()

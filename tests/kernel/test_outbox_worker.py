"""The outbox and Celery with real worker processes, on the real brokers."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from django.db import transaction

from oms.kernel import events
from oms.kernel.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from tests.support.services import METRICS_AUTH, RedisServer, WebProcess, wait_until
from tests.testapp.models import Effect

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _post(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, float]:
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers or {})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read()), time.monotonic() - started


@pytest.fixture
def web_factory(tmp_path):
    started: list[WebProcess] = []

    def start(**env: str) -> WebProcess:
        web = WebProcess(log_dir=tmp_path, env=env)
        web.start()
        started.append(web)
        return web

    yield start
    for web in started:
        web.stop()


@pytest.mark.parametrize(
    "broker",
    [
        pytest.param("filesystem", id="filesystem-broker"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ],
)
def test_a_task_published_by_the_web_process_runs_in_a_separate_worker(
    broker, tmp_path, celery_worker_factory, web_factory
):
    env = {"OMS_VAR_DIR": str(tmp_path / "var")}
    if broker == "filesystem":
        env.update(REDIS_URL="", CELERY_BROKER_URL="filesystem://", CELERY_RESULT_BACKEND="")
    worker = celery_worker_factory(env=env)
    web = web_factory(**env)

    status, body, _ = _post(f"{web.url}/test/enqueue?marker={broker}-1", {"X-Request-ID": f"req-{broker}"})
    assert status == 202
    effect = wait_until(lambda: Effect.objects.filter(topic=f"{broker}-1").first(), message="task effect")
    assert effect.aggregate_id == str(worker.proc.pid) or int(effect.aggregate_id) != body["web_pid"]
    assert int(effect.aggregate_id) != body["web_pid"]
    assert effect.correlation_id == f"req-{broker}"


@pytest.mark.redis
def test_outbox_with_a_real_worker_on_redis(celery_worker_factory, settings):
    celery_worker_factory(beat=True)  # the beat inside runs the outbox sweep every 0.5 s

    with transaction.atomic():
        flaky_twice = events.publish("test.created", {"seq": 1, "fail_times": 2}, aggregate=("order", 1))
        poison = events.publish("test.created", {"seq": 2, "poison": True}, aggregate=("order", 2))
        in_order = [events.publish("test.changed", {"seq": s}, aggregate=("order", 3)) for s in range(1, 21)]

    wait_until(
        lambda: (
            not OutboxDelivery.objects.filter(
                status=DeliveryStatus.PENDING, subscriber__startswith="test."
            ).exists()
        ),
        timeout=60,
        message="all test deliveries settled",
    )
    # The healthy subscriber acted once, and the failing one once after its two failures.
    assert Effect.objects.filter(subscriber="test.recorder", event_id=flaky_twice.pk).count() == 1
    assert Effect.objects.filter(subscriber="test.flaky", event_id=flaky_twice.pk).count() == 1
    assert OutboxDelivery.objects.get(event=flaky_twice, subscriber="test.flaky").attempts == 3
    # The poison event is parked; the healthy subscriber still got it.
    dead = OutboxDelivery.objects.get(event=poison, subscriber="test.flaky")
    assert dead.status == DeliveryStatus.DEAD and dead.attempts == settings.OMS_OUTBOX_MAX_ATTEMPTS
    assert Effect.objects.filter(subscriber="test.flaky", event_id=poison.pk).count() == 0
    assert Effect.objects.filter(subscriber="test.recorder", event_id=poison.pk).count() == 1
    # Later events still flow, in publish order, each once.
    for name in ("test.recorder", "test.flaky"):
        seqs = list(
            Effect.objects.filter(subscriber=name, aggregate_id="3")
            .order_by("id")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, 21))
    assert len(in_order) == 20

    with transaction.atomic():
        after = events.publish("test.created", {"seq": 99}, aggregate=("order", 2))
    wait_until(
        lambda: Effect.objects.filter(subscriber="test.flaky", event_id=after.pk).exists(),
        timeout=30,
        message="an event published after the dead letter",
    )


@pytest.mark.redis
def test_a_request_that_publishes_commits_while_redis_is_down_and_is_delivered_after(
    tmp_path, celery_worker_factory, web_factory
):
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        env = {"REDIS_URL": redis.url}
        worker = celery_worker_factory(beat=True, env=env)
        web = web_factory(**env)

        redis.stop()
        status, body, elapsed = _post(f"{web.url}/test/publish?order=77", {"X-Request-ID": "req-outage-1"})
        assert status == 201
        assert elapsed < 5, f"a broker outage held the request for {elapsed:.1f}s"
        event = OutboxEvent.objects.get(pk=body["event_id"])
        assert event.correlation_id == "req-outage-1"
        # The kick after commit failed (a fact in the web log, waited for rather than slept on), and
        # the worker was idle: nothing can have run the handler.
        wait_until(
            lambda: "outbox relay kick failed" in web.log_path.read_text(errors="replace"),
            timeout=30,
            message="the failed relay kick",
        )
        assert not Effect.objects.filter(event_id=event.pk).exists()

        redis.start()  # same port: the worker and beat reconnect

        def delivered() -> bool:
            return Effect.objects.filter(subscriber="test.recorder", event_id=event.pk).exists()

        wait_until(
            lambda: delivered() or worker.proc.poll() is not None,
            timeout=90,
            message="delivery after Redis came back",
        )
        if not delivered():
            # kombu 5.x can die on a lost connection while it restores an unacknowledged message
            # ("Unrecoverable error"); a process supervisor restarts it (compose: restart policy).
            # The outbox is what makes that safe: nothing was marked delivered.
            assert "Unrecoverable error" in worker.log_path.read_text(errors="replace"), worker.log_tail()
            celery_worker_factory(beat=True, env=env)
            wait_until(delivered, timeout=90, message="delivery after the worker was restarted")
        effect = Effect.objects.get(subscriber="test.recorder", event_id=event.pk)
        assert effect.correlation_id == "req-outage-1"
    finally:
        redis.stop()


@pytest.mark.redis
def test_metrics_show_task_outcomes_counted_in_the_worker_process(
    tmp_path, celery_worker_factory, web_factory
):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    celery_worker_factory(env=env)
    web = web_factory(**env)
    _post(f"{web.url}/test/enqueue?marker=metrics-1")
    wait_until(lambda: Effect.objects.filter(topic="metrics-1").exists(), message="task ran")

    def scraped() -> str:
        request = urllib.request.Request(f"{web.url}/metrics", headers=METRICS_AUTH)
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.read().decode()

    line = 'oms_celery_tasks_total{outcome="success",task="tests.testapp.tasks.record_effect"} 1.0'

    def scraped_with_task_line() -> str | None:
        text = scraped()
        return text if line in text else None

    text = wait_until(scraped_with_task_line, timeout=15, message="task metric")
    assert 'oms_outbox_deliveries{status="pending"}' in text
    assert "django_http_requests_total_by_method_total" in text

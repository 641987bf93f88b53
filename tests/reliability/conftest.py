"""Crash, outage and storm tests: real gunicorn, Celery and redis-server processes on loopback."""

from __future__ import annotations

import json
import uuid

import pytest

from bench.capture_world import World, order_body, world_build
from bench.loadgen import Reply, request
from tests.support.aio import run_coroutine
from tests.support.services import WebProcess

# The capture API's per-key throttle would turn a load test into a throttling test.
UNTHROTTLED = {"OMS_ORDERS_THROTTLE_RATE": "100000000/min"}


@pytest.fixture
def web_factory(tmp_path):
    started: list[WebProcess] = []

    def start(*, workers: int = 2, **env: str) -> WebProcess:
        web = WebProcess(log_dir=tmp_path, env={**UNTHROTTLED, **env}, workers=workers)
        web.start()
        started.append(web)
        return web

    yield start
    for web in started:
        web.stop()


@pytest.fixture
def world(transactional_db) -> World:
    return world_build(products=8, stock=100_000)


def post_order(web: WebProcess, world: World, *, key: str | None = None, body: bytes | None = None,
               timeout: float = 30.0) -> Reply:  # fmt: skip
    """POST one 4-line order over a real socket (status 0 when the connection itself failed)."""
    headers = {"Authorization": f"Api-Key {world.key}", "Content-Type": "application/json",
               "Idempotency-Key": key or uuid.uuid4().hex}  # fmt: skip
    payload = body if body is not None else order_body(world.skus[:4])
    try:
        return run_coroutine(
            request("127.0.0.1", web.port, "POST", "/api/v1/orders", payload, headers, timeout)
        )
    except (OSError, TimeoutError, IndexError, ValueError) as exc:
        return Reply(status=0, body=str(exc).encode(), headers={})


def reply_json(reply: Reply) -> dict:
    return json.loads(reply.body)

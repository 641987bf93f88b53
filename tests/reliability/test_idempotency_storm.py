"""Idempotency storm over HTTP: many submissions of fewer distinct orders, with random retries
and concurrent duplicates, against several gunicorn workers. Exactly one order per key; every
reply for a key is the same order, byte for byte; a duplicate that races the first gets 409
`in_flight` and its retry gets the stored reply.

CI size by default; the full size is `OMS_STORM_ORDERS=3000 OMS_STORM_SUBMISSIONS=10000`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections import defaultdict

import pytest

from bench.capture_world import order_body
from bench.loadgen import request
from orders.models import IdempotencyKey, SalesOrder
from tests.support.aio import run_coroutine

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres, pytest.mark.integration]

ORDERS = int(os.environ.get("OMS_STORM_ORDERS", "100"))
SUBMISSIONS = int(os.environ.get("OMS_STORM_SUBMISSIONS", "350"))
CLIENTS = int(os.environ.get("OMS_STORM_CLIENTS", "16"))


def _schedule(rng: random.Random) -> list[list[int]]:
    """Waves of submissions: mostly single sends in random order, some bursts of 3 concurrent
    duplicates of one order; every order at least once, SUBMISSIONS in all."""
    counts = [1] * ORDERS
    for _ in range(SUBMISSIONS - ORDERS):
        counts[rng.randrange(ORDERS)] += 1
    waves: list[list[int]] = []
    for i, n in enumerate(counts):
        while n >= 3 and rng.random() < 0.3:
            waves.append([i, i, i])
            n -= 3
        waves.extend([i] for _ in range(n))
    rng.shuffle(waves)
    return waves


def test_a_storm_of_retries_and_concurrent_duplicates_creates_each_order_once(world, web_factory):
    assert SUBMISSIONS >= ORDERS
    web = web_factory(workers=3)
    rng = random.Random(8)
    keys = [f"storm-{uuid.uuid4().hex}" for _ in range(ORDERS)]
    bodies = [order_body(rng.sample(world.skus, 4), source=f"STORM-{i}") for i in range(ORDERS)]
    replies: dict[int, list[tuple[int, bytes, dict]]] = defaultdict(list)

    async def submit(i: int) -> None:
        headers = {"Authorization": f"Api-Key {world.key}", "Content-Type": "application/json",
                   "Idempotency-Key": keys[i]}  # fmt: skip
        for _ in range(200):
            reply = await request("127.0.0.1", web.port, "POST", "/api/v1/orders", bodies[i], headers, 60)
            replies[i].append((reply.status, reply.body, reply.headers))
            if reply.status != 409:
                return
            await asyncio.sleep(rng.uniform(0.05, 0.3))  # in flight: a client retries a bit later
        raise AssertionError(f"order {i} still in flight after 200 tries")

    async def storm() -> None:
        gate = asyncio.Semaphore(CLIENTS)

        async def wave(members: list[int]) -> None:
            async with gate:
                await asyncio.gather(*(submit(i) for i in members))

        await asyncio.gather(*(wave(w) for w in _schedule(rng)))

    run_coroutine(storm())

    assert SalesOrder.objects.filter(channel__code=world.channel_code).count() == ORDERS
    sent = sum(len(r) for r in replies.values())
    assert sent >= SUBMISSIONS
    for i in range(ORDERS):
        statuses = [s for s, _, _ in replies[i]]
        assert set(statuses) <= {201, 409}, (i, statuses, replies[i][-1][1][:300])
        for status, body, _ in replies[i]:
            if status == 409:
                assert json.loads(body)["code"] == "in_flight"
        created = [(b, h) for s, b, h in replies[i] if s == 201]
        assert created, f"order {i} never got a 201"
        assert len({b for b, _ in created}) == 1, f"order {i} got different replies"
        first = [h for _, h in created if h.get("idempotent-replayed") != "true"]
        assert len(first) == 1, f"order {i}: {len(first)} non-replayed 201s"
        number = json.loads(created[0][0])["number"]
        order = SalesOrder.objects.get(number=number)
        assert order.source_order_id == f"STORM-{i}"
        assert order.lines.count() == 4
    assert IdempotencyKey.objects.filter(key__in=keys, status="completed").count() == ORDERS

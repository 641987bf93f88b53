"""The rate limit is one atomic counter per caller and window: exact under concurrency, cheap."""

from __future__ import annotations

import threading
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from oms.kernel.api.throttling import CounterRateThrottle

pytestmark = pytest.mark.integration  # the counter lives in the cache (Redis when it answers)


class _Throttle(CounterRateThrottle):
    scope = "test"
    THROTTLE_RATES = {"test": "20/min"}

    def get_cache_key(self, request, view):
        return f"throttle_test_{request.ident}"


def _request(ident: str) -> SimpleNamespace:
    return SimpleNamespace(ident=ident)


@pytest.mark.concurrency
def test_forty_concurrent_requests_of_one_key_let_exactly_twenty_through():
    ident = uuid.uuid4().hex
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def one() -> None:
        start.wait()
        ok = _Throttle().allow_request(_request(ident), None)
        with lock:
            allowed.append(ok)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A read-modify-write of a timestamp list (DRF's SimpleRateThrottle) lets more through here.
    assert allowed.count(True) == 20 and allowed.count(False) == 20


def test_keys_count_apart_and_a_refusal_says_when_the_window_ends():
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    throttle = _Throttle()
    assert all(throttle.allow_request(_request(first), None) for _ in range(20))
    assert not throttle.allow_request(_request(first), None)
    assert 1 <= throttle.wait() <= 60
    assert _Throttle().allow_request(_request(second), None)


def test_the_counter_is_one_small_integer_per_key_and_window():
    ident = uuid.uuid4().hex
    throttle = _Throttle()
    for _ in range(15):
        throttle.allow_request(_request(ident), None)
    window = int(throttle.now // throttle.duration)
    assert cache.get(f"throttle_test_{ident}:{window}") == 15


@pytest.mark.parametrize("rate", [None])
def test_no_rate_means_no_limit(rate):
    class Unlimited(_Throttle):
        THROTTLE_RATES = {"test": rate}

    assert all(Unlimited().allow_request(_request("x"), None) for _ in range(50))

"""A Redis cache that fails open: while Redis is down, reads miss and writes are dropped.

The cache holds only what can be rebuilt or done without (API throttle counters), so a broker
outage must not turn a request into a 500: without this, DRF's throttle raises the client's
ConnectionError from `cache.get` before the view runs, and no order can be captured.
"""

from __future__ import annotations

import functools
import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
_last_warning = 0.0
_last_failure = -1e9


def redis_backend(cache=None) -> RedisCache | None:
    """The Redis cache behind `cache` (default: the default cache), or None when it is another
    kind. `django.core.cache.cache` is a proxy, so isinstance() needs the real backend."""
    from django.core.cache import cache as default_proxy
    from django.core.cache import caches

    backend = caches["default"] if cache is None or cache is default_proxy else cache
    return backend if isinstance(backend, RedisCache) else None


def redis_command(key: str, command, fallback, *, cache=None):
    """`command(client, full_key)` on the Redis behind `cache` (default: the default cache), for
    what Django's cache API cannot say in one round trip (SET NX with expiry, INCR). Fails open
    like the cache: `fallback` when there is no Redis, when it failed in the last few seconds
    (no connect timeout per call during an outage) or when the command fails."""
    from redis.exceptions import RedisError

    backend = redis_backend(cache)
    if backend is None or redis_recently_unavailable():
        return fallback
    full_key = backend.make_and_validate_key(key)
    try:
        return command(backend._cache.get_client(full_key, write=True), full_key)
    except RedisError:
        redis_mark_unavailable()
        return fallback


def redis_mark_unavailable() -> None:
    global _last_failure
    _last_failure = time.monotonic()


def redis_recently_unavailable(seconds: float = 5.0) -> bool:
    """Whether this process saw Redis fail in the last few seconds (callers skip optional
    Redis work meanwhile instead of waiting for another connect timeout)."""
    return time.monotonic() - _last_failure < seconds


def _fail_open(fallback):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            global _last_warning, _last_failure
            try:
                return method(self, *args, **kwargs)
            except _UNAVAILABLE as exc:
                now = _last_failure = time.monotonic()
                if now - _last_warning > 10:  # one line per 10 s, not one per request
                    _last_warning = now
                    log.warning("cache unavailable, carrying on without it: %s", exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


class FailOpenRedisCache(RedisCache):
    @_fail_open(lambda key, default=None, version=None: default)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_fail_open(lambda *a, **k: None)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_fail_open(lambda *a, **k: False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    @_fail_open(lambda *a, **k: False)
    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_fail_open(lambda *a, **k: False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_fail_open(lambda *a, **k: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_fail_open(lambda data, *a, **k: list(data))
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_fail_open(lambda *a, **k: None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_fail_open(lambda *a, **k: 0)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_fail_open(lambda *a, **k: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

"""Rate limits as one atomic counter per caller and window.

DRF's `SimpleRateThrottle` keeps a list of every request's timestamp in the last period and
reads, trims, pickles and writes the whole list back on each request: at 1,200 requests a
minute that is a 10 kB round trip twice per request, and concurrent requests of the same key
overwrite each other's entries (the limit leaks under exactly the load it is for). A counter per
fixed window costs one atomic `INCR` and never loses a request. The price is the fixed window's:
a caller may send up to twice the rate across a window boundary.
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from ..cache import redis_backend, redis_command


class CounterRateThrottle(SimpleRateThrottle):
    """Subclasses set `scope` and `get_cache_key` exactly as for `SimpleRateThrottle`."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        key = f"{self.key}:{window}"
        count = self._incr(key)
        return count <= self.num_requests

    def _incr(self, key: str) -> int:
        redis_cache = redis_backend(self.cache)
        if redis_cache is not None:
            return self._incr_redis(redis_cache, key)
        try:
            return self.cache.incr(key)
        except ValueError:  # the window's first request: create the counter with its expiry
            if self.cache.add(key, 1, timeout=self.duration + 1):
                return 1
            try:
                return self.cache.incr(key)  # another request created it meanwhile
            except ValueError:  # gone again (expired, or the cache is unavailable): let it pass
                return 1

    def _incr_redis(self, cache, key: str) -> int:
        """One INCR (it creates the counter at 1), and the expiry only when it did: one round
        trip per request. Django's own `incr` asks EXISTS first and refuses a missing key.
        While Redis is down every request passes (fail open, like the rest of the cache)."""

        def incr(client, full_key: str) -> int:
            count = client.incr(full_key)
            if count == 1:
                client.expire(full_key, int(self.duration) + 1)
            return count

        return redis_command(key, incr, 1, cache=cache)

    def wait(self) -> float:
        return max(self.window_end - self.now, 1.0)

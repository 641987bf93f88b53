"""A small asyncio HTTP/1.1 load generator for loopback benchmarks (no third-party client).

`closed_loop(...)` runs N concurrent clients for a fixed time; each client sends a request, waits
for the whole reply, records (status, latency) and sends the next. One connection per request,
as gunicorn's sync workers close the connection after each reply anyway.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # successful replies only, seconds
    statuses: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "orders_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile(50) * 1000, 1),
            "p95_ms": round(self.percentile(95) * 1000, 1),
            "p99_ms": round(self.percentile(99) * 1000, 1),
            "errors": self.errors,
            "statuses": dict(self.statuses),
        }


async def request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Connection: close",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Reply(status=status, body=payload, headers=parsed)


def closed_loop(
    *,
    host: str,
    port: int,
    path: str,
    clients: int,
    seconds: float,
    make_request: Callable[[], tuple[bytes, dict[str, str]]],
) -> LoadResult:
    """`make_request()` returns (body, headers) for the next POST."""

    async def main() -> LoadResult:
        result = LoadResult(clients=clients, seconds=seconds)
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                body, headers = make_request()
                started = time.perf_counter()
                try:
                    reply = await request(host, port, "POST", path, body, headers)
                except (TimeoutError, OSError, IndexError, ValueError):
                    result.statuses[0] += 1
                    continue
                result.statuses[reply.status] += 1
                if 200 <= reply.status < 300:
                    result.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        result.seconds = time.perf_counter() - started
        return result

    return asyncio.run(main())


def median_summary(runs: list[LoadResult]) -> dict:
    """Per figure, the median over runs."""
    summaries = [r.summary() for r in runs]
    out = {"clients": runs[0].clients, "runs": len(runs)}
    for k in ("orders_per_s", "p50_ms", "p95_ms", "p99_ms"):
        out[k] = round(statistics.median(s[k] for s in summaries), 1)
    out["errors"] = sum(s["errors"] for s in summaries)
    statuses: Counter = Counter()
    for r in runs:
        statuses.update(r.statuses)
    out["statuses"] = dict(statuses)
    return out

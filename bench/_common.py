"""Shared plumbing for benchmarks: a dedicated, migrated database and a uniform result format.

Each benchmark is `bench/bench_<name>.py` with a `run() -> dict` that returns its figures
(`{"name": ..., "figures": {label: value}, "unit": {...}, "notes": "..."}`). `bench/run.py` runs
them all in subprocesses and prints one table plus `bench/results.json`.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get("OMS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench")


def setup_django(*, database_url: str = BENCH_DB, migrate: bool = True) -> None:
    """Point Django at the benchmark database (created and migrated when missing)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if database_url.startswith("postgres"):
        _ensure_pg_database(database_url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _ensure_pg_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def median_of(fn: Callable[[], float], runs: int = 5) -> tuple[float, list[float]]:
    """Run `fn` (which returns one measurement) several times; the median resists noise."""
    samples = [fn() for _ in range(runs)]
    return statistics.median(samples), samples


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.started


def emit(result: dict) -> None:
    """The last stdout line of a benchmark is its JSON result (read by bench/run.py)."""
    result.setdefault("cores", os.cpu_count())
    print(json.dumps(result, default=str))

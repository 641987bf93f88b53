"""Reports at scale: 1,000,000 order lines over 2 years (bench/reports_data.py, set-based SQL), then

- p50/p95 of every ranking (each dimension by revenue, plus units, orders, AOV and margin by
  product) over the last 365 days with the previous-period comparison, every operational report,
  and the drill-down;
- the incremental refresh: 10,000 new lines captured into the order tables, then
  `facts_refresh` of their orders (the subscriber's and catch-up's path);
- the peak memory (high-water mark of a separate process) of streaming the 1,000,000-row CSV of the
  largest-orders ranking over the 2 years.

Knobs: BENCH_REPORT_LINES (1,000,000), BENCH_REPORT_RUNS (7 timed runs per report), BENCH_REPORT_CASES,
BENCH_REPORT_SOURCE (rollups; `facts` ranks from the facts, as before the rollups),
BENCH_REPORT_SKIP ("refresh", "csv": parts left out),
OMS_BENCH_REPORTS_DATABASE_URL (its own database: postgres://postgres@127.0.0.1:5432/oms_bench_reports).
Targets (issue 20): p95 under 300 ms per report, refresh under 2 s, CSV under 150 MB.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

from _common import ROOT, emit, setup_django

DB = os.environ.get("OMS_BENCH_REPORTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_reports")
LINES = int(os.environ.get("BENCH_REPORT_LINES", "1000000"))
RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "7"))
# Comma-separated parts of case names to run (default: every case), e.g. "product by revenue,operational".
CASES = [c.strip() for c in os.environ.get("BENCH_REPORT_CASES", "").split(",") if c.strip()]
# "rollups" (default) or "facts": the rankings read the facts as before the rollups (a comparison).
SOURCE = os.environ.get("BENCH_REPORT_SOURCE", "rollups")
# Comma-separated parts to leave out: "refresh", "csv" (e.g. a comparison run of the rankings only).
SKIP = {c.strip() for c in os.environ.get("BENCH_REPORT_SKIP", "").split(",") if c.strip()}

CSV_PROBE = """
import os, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
from _common import setup_django
setup_django(database_url={db!r}, migrate=False)
from django.test import RequestFactory
from reporting.reports.views import _export
from django.contrib.auth.models import AnonymousUser
request = RequestFactory().get("/reports/rankings/export.csv", {{"dimension": "order", "date_from": {start!r},
                                "date_to": {end!r}, "metric": "revenue"}})
started = time.perf_counter()
response = _export(request, "csv")
if not response.streaming:
    raise SystemExit(response.content.decode())
rows = size = 0
for chunk in response.streaming_content:
    rows += 1
    size += len(chunk)
# VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across execve, so a probe started by a
# parent that had grown (the operational reports before it) would report the parent's peak.
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(rows, size, round(time.perf_counter() - started, 1), peak_kb // 1024)
"""


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run() -> dict:
    setup_django(database_url=DB)
    from django.conf import settings

    settings.OMS_REPORTS_ROLLUPS = SOURCE != "facts"
    from bench.reports_data import PREFIX, generate
    from reporting.models import SalesFact
    from reporting.reports import operational
    from reporting.reports.selectors import DIMENSIONS, ReportFilters, ranking, ranking_orders

    started = time.monotonic()
    ref = generate(lines=LINES)
    figures: dict[str, float | int | str] = {"lines generated": LINES, "rankings read": SOURCE}
    if "generated_seconds" in ref:
        figures["generator seconds (orders, lines, facts and rollups)"] = ref["generated_seconds"]
    today = dt.date.today()
    year = ReportFilters(date_from=today - dt.timedelta(days=364), date_to=today, currency="USD")

    cases = [
        (f"ranking {d} by revenue", lambda d=d: ranking(filters=year, dimension=d, metric="revenue"))
        for d in sorted(DIMENSIONS)
    ]
    cases += [
        (f"ranking product by {m}", lambda m=m: ranking(filters=year, dimension="product", metric=m))
        for m in ("units", "orders", "aov", "margin")
    ]
    cases += [
        (f"operational {name}", lambda name=name: operational.run(name, filters=year))
        for name in sorted(operational.REPORTS)
    ]
    top = ranking(filters=year, dimension="product", metric="revenue").rows[0].key
    cases.append(
        (
            "drill-down product (first page)",
            lambda: list(
                ranking_orders(
                    facts=SalesFact.objects.filter(day__gte=year.date_from), dimension="product", key=top
                )[:25]
            ),
        )
    )
    if CASES:
        cases = [(label, fn) for label, fn in cases if any(c in label for c in CASES)]
    worst = 0.0
    for label, fn in cases:
        fn()  # warm
        samples = []
        for _ in range(RUNS):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        figures[f"{label} p50"] = round(statistics.median(samples), 1)
        figures[f"{label} p95"] = round(_p(samples, 0.95), 1)
        worst = max(worst, figures[f"{label} p95"])
    figures["worst report p95"] = worst

    if "refresh" not in SKIP:
        _refresh(figures, ref, today)
    if "csv" not in SKIP:
        _csv(figures, today)
    return {
        "name": "reports",
        "figures": figures,
        "unit": {k: "ms" for k in figures if k.endswith(("p50", "p95"))},
        "notes": f"{PREFIX} data, last 365 days with previous-period comparison; "
        f"a busy machine makes figures noisy; total {round(time.monotonic() - started)} s",
    }


def _refresh(figures: dict, ref: dict, today: dt.date) -> None:
    """10,000 new lines land in the order tables; the refresh of their orders is what the events do."""
    from django.db import connection

    from bench.reports_data import PREFIX, write
    from reporting.reports.rollups import facts_refresh

    with connection.cursor() as cursor:  # after every number generated so far (earlier runs too)
        cursor.execute(
            "SELECT COALESCE(MAX(CAST(substr(number, %s) AS bigint)), 0) FROM orders_salesorder"
            " WHERE number LIKE %s",
            [len(PREFIX) + 1, PREFIX + "%"],
        )
        first = max(10_000_000, cursor.fetchone()[0] + 1)
    numbers = write(
        ref, lines=10_000, seed=first, first=first, days=7, start=today - dt.timedelta(days=6), facts=False
    )
    t = time.perf_counter()
    written = facts_refresh(numbers=numbers)
    figures["incremental refresh of 10,000 new lines (s)"] = round(time.perf_counter() - t, 2)
    assert written == 10_000, written


def _csv(figures: dict, today: dt.date) -> None:
    probe = CSV_PROBE.format(
        root=str(ROOT),
        bench=str(ROOT / "bench"),
        db=DB,
        start=(today - dt.timedelta(days=2 * 366)).isoformat(),
        end=today.isoformat(),
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    rows, size, seconds, rss = out.stdout.split()[-4:]
    figures["CSV stream rows (header + ranking + note)"] = int(rows)
    figures["CSV stream MB"] = round(int(size) / 1e6, 1)
    figures["CSV stream seconds"] = float(seconds)
    figures["CSV stream peak RSS (MB)"] = int(rss)


if __name__ == "__main__":
    result = run()
    print(json.dumps(result["figures"], indent=2), file=sys.stderr)
    emit(result)

"""Documents: PDF rendering throughput for 100-line invoices (target: at least 5 per second per
core) and the time to list a document's view log with 100,000 views (target: under 100 ms).

- `render`: documents.rendering.render (template -> HTML -> PDF in memory), one process, so the
  figure is per core; `issue`: documents.services.document_issue, the whole path (a new version,
  the render, the file stored, the status history) against PostgreSQL.
- The view log: one document with 100,000 views built set-based (INSERT ... SELECT
  generate_series) in a database of its own (`oms_bench_documents`, or
  OMS_BENCH_DOCUMENTS_DATABASE_URL), once; re-runs reuse it. Timed as the document page reads it:
  the selector, paginated 25 a page (a COUNT and one page of rows), for the first page, a middle
  page and the last page.
"""

from __future__ import annotations

import os
import statistics
import time
from decimal import Decimal

from _common import emit, setup_django

LINES = 100
RENDERS = int(os.environ.get("BENCH_DOCUMENTS_RENDERS", "20"))
VIEWS = int(os.environ.get("BENCH_DOCUMENTS_VIEWS", "100000"))
RUNS = int(os.environ.get("BENCH_DOCUMENTS_RUNS", "40"))
DB = os.environ.get(
    "OMS_BENCH_DOCUMENTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_documents"
)


def invoice_context(lines: int) -> dict:
    rows, net = [], Decimal(0)
    for i in range(1, lines + 1):
        unit, quantity = Decimal("12.50") + i, Decimal(i % 4 + 1)
        net += unit * quantity
        rows.append(
            {
                "sku": f"SKU-{i:04d}",
                "description": f"Cordless drill, model {i}, with two batteries and a case",
                "quantity": str(quantity),
                "unit_price": str(unit),
                "total": str(unit * quantity),
            }
        )
    tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    return {
        "title": "Invoice",
        "reference": "SO-900001",
        "date": "2026-03-01",
        "due_date": "2026-03-31",
        "currency": "EUR",
        "party": {"name": "山田太郎 / محمد العربي", "address": ["Rua Augusta 12", "Lisboa"]},
        "lines": rows,
        "totals": [
            {"label": "Net", "amount": str(net)},
            {"label": "Tax", "amount": str(tax)},
            {"label": "Total", "amount": str(net + tax)},
        ],
    }


def _timed_ms(fn, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
        "max_ms": round(samples[-1], 1),
    }


def _throughput() -> dict:
    from documents import rendering
    from documents.services import document_issue

    context = invoice_context(LINES)
    rendering.render(
        doc_type="invoice", number="INV-WARM", version=1, locale="de_DE", context=context
    )  # fonts
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(RENDERS):
        rendering.render(doc_type="invoice", number=f"INV-B{i}", version=1, locale="de_DE", context=context)
    render_seconds = time.perf_counter() - started
    # CPU seconds of this one process: the per-core figure, whatever else the machine runs.
    render_cpu = time.process_time() - cpu_started
    started = time.perf_counter()
    issued = RENDERS // 2
    for i in range(issued):
        document_issue(
            doc_type="invoice",
            number=f"INV-BENCH-{os.getpid()}-{i}",
            owner_type="invoice",
            owner_id=i,
            context=context,
            locale="de_DE",
        )
    issue_seconds = time.perf_counter() - started
    return {
        "lines_per_invoice": LINES,
        "render_per_second": round(RENDERS / render_seconds, 2),
        "render_per_cpu_second": round(RENDERS / render_cpu, 2),
        "render_ms_each": round(render_seconds / RENDERS * 1000, 1),
        "render_cpu_ms_each": round(render_cpu / RENDERS * 1000, 1),
        "issue_per_second": round(issued / issue_seconds, 2),
    }


def _view_log() -> dict:
    from django.db import connection, transaction

    from documents.models import Document, DocumentView
    from documents.selectors import ViewLogPaginator, document_view_log
    from documents.services import document_issue

    document = Document.objects.filter(number="INV-VIEWLOG").first()
    if document is None:
        document = document_issue(
            doc_type="invoice", number="INV-VIEWLOG", owner_type="invoice", owner_id="bench",
            context=invoice_context(3),
        )  # fmt: skip
    have = DocumentView.objects.filter(document=document).count()
    if have < VIEWS:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                """
INSERT INTO documents_documentview (document_id, channel, outcome, action, who, link, ip, user_agent, reason,
                                    created_at)
SELECT %s, (ARRAY['staff','api','link','email_open'])[1 + g %% 4], 'shown', 'view', 'user' || (g %% 97), '',
       ('198.51.100.' || (g %% 250))::inet, 'Mozilla/5.0 bench', '', now() - (g || ' seconds')::interval
FROM generate_series(1, %s) AS g
""",
                [document.pk, VIEWS - have],
            )
    with connection.cursor() as cur:  # as autovacuum leaves it: statistics and visibility map
        cur.execute("VACUUM ANALYZE documents_documentview")
    total = DocumentView.objects.filter(document=document).count()

    def page(number: int):
        def read():
            p = ViewLogPaginator(document_view_log(document.pk), 25).get_page(number)
            rows = list(p.object_list)
            assert rows and p.paginator.count == total

        return read

    last = (total + 24) // 25
    return {
        "views": total,
        "first_page": _timed_ms(page(1), RUNS),
        "middle_page": _timed_ms(page(last // 2), RUNS),
        "last_page": _timed_ms(page(last), RUNS),
    }


def run() -> dict:
    setup_django(database_url=DB)
    throughput = _throughput()
    views = _view_log()
    worst = max(views[k]["p95_ms"] for k in ("first_page", "middle_page", "last_page"))
    return {
        "name": "documents",
        "figures": {**throughput, "view_log": views},
        "target": "render >= 5 per second per core (100-line invoice); "
        "view log page < 100 ms over 100,000 views",
        "met": throughput["render_per_cpu_second"] >= 5
        and views["first_page"]["p95_ms"] < 100
        and worst < 100,
        "notes": "2 shared cores, other test suites on the same machine: figures are noisy.",
    }


if __name__ == "__main__":
    result = run()
    figures = result["figures"]
    print(f"{'PDF render, 100-line invoice':40} {figures['render_per_second']:>8} per second (wall clock)")
    print(f"{'PDF render, per CPU second (one core)':40} {figures['render_per_cpu_second']:>8} per second")
    print(f"{'issue (render + store + history)':40} {figures['issue_per_second']:>8} per second")
    for key in ("first_page", "middle_page", "last_page"):
        f = figures["view_log"][key]
        print(f"{'view log ' + key.replace('_', ' ') + ' of ' + str(figures['view_log']['views']):40} "
              f"p50 {f['p50_ms']} ms  p95 {f['p95_ms']} ms")  # fmt: skip
    emit(result)

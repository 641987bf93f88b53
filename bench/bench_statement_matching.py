"""Bank statement matching: a CSV statement of 100,000 lines against 200,000 open invoices
(target: under 10 s), on PostgreSQL.

Invoices are built set-based (INSERT ... SELECT generate_series) over a few hundred orders, once;
re-runs reuse them and reset what a run posted. The statement mixes exact payments (posted at
once: payment, allocation, capture record, audit rows, invoice paid, credit exposure released),
under- and over-payments, lines without a usable reference and duplicated references (flagged).
Figures: the import in one transaction (parse, COPY, classify, post), median and best of RUNS, and
the number of SQL statements it issues (constant in the number of lines; one credit-exposure
update per customer with a posted payment).
"""

from __future__ import annotations

import os
import random
import statistics
import time

from _common import Timer, emit, setup_django

DB = os.environ.get(
    "OMS_BENCH_PAYMENTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_payments"
)
INVOICES = int(os.environ.get("BENCH_OPEN_INVOICES", "200000"))
LINES = int(os.environ.get("BENCH_STATEMENT_LINES", "100000"))
CUSTOMERS = 200
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BASE = 5_000_000  # bench invoice numbers: INV-5000001 ...


def _build() -> None:
    from django.db import connection, transaction

    from billing.models import Invoice
    from tests.factories.billing import shipped_order

    if Invoice.objects.filter(number=f"INV-{BASE + INVOICES}").exists():
        return
    orders = [
        shipped_order(currency="USD", lines=[{"quantity": "1", "net": "10.00", "shipping": "0", "tax": "0"}])
        for _ in range(CUSTOMERS)
    ]
    ids = [o.pk for o in orders]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
INSERT INTO billing_invoice (number, order_id, order_number, customer_id, status, currency, net_total,
       shipping_total, tax_total, total, credit_amount, payment_terms, due_date, request_key, created_at,
       issued_at, amount_paid, amount_credited, void_reason)
SELECT 'INV-' || (%s + g), o.id, o.number, o.customer_id, 'issued', 'USD', t, 0, 0, t, t, 'NET30',
       current_date + (g %% 60) - 30, 'bench-' || g, now(), now(), 0, 0, ''
  FROM generate_series(1, %s) AS g
  JOIN orders_salesorder o ON o.id = (%s::bigint[])[1 + g %% %s]
 CROSS JOIN LATERAL (SELECT (100 + (g %% 900))::numeric + (g %% 100) / 100.0 AS t) amt""",
            [BASE, INVOICES, ids, len(ids)],
        )
    _reset_exposure()


def _reset_exposure() -> None:
    from django.db import connection

    from customers.services import credit_exposure_adjust

    with connection.cursor() as cur:
        cur.execute(
            """SELECT customer_id, SUM(credit_amount) FROM billing_invoice
                WHERE number LIKE 'INV-5%%' AND status = 'issued' GROUP BY customer_id"""
        )
        rows = cur.fetchall()
        cur.execute("UPDATE customers_creditexposure SET open_receivables_amount = 0")
    for customer_id, total in rows:
        credit_exposure_adjust(customer_id=customer_id, open_receivables_delta=total)


def _reset() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "DELETE FROM billing_billingevent WHERE entity <> 'invoice' OR reason LIKE 'bank statement%%'"
        )
        cur.execute("UPDATE billing_statementline SET payment_id = NULL")
        cur.execute("DELETE FROM billing_paymentallocation")
        cur.execute("DELETE FROM billing_paymentoperation")
        cur.execute("DELETE FROM billing_payment")
        cur.execute("DELETE FROM billing_statementline")
        cur.execute("DELETE FROM billing_bankstatement")
        cur.execute(
            "UPDATE billing_invoice SET amount_paid = 0, status = 'issued', paid_at = NULL"
            " WHERE number LIKE 'INV-5%%'"
        )
    _reset_exposure()
    with connection.cursor() as cur:  # autocommit: each run starts from tables without dead rows
        for table in (
            "billing_invoice",
            "billing_statementline",
            "billing_payment",
            "billing_paymentallocation",
        ):
            cur.execute(f"VACUUM ANALYZE {table}")


def _statement() -> bytes:
    """Per block of 20 lines: 12 exact, 3 under, 2 over, 2 without a reference, and 1 that repeats
    the block's first reference (both lines of that pair wait for a person)."""
    from billing.models import Invoice

    rng = random.Random(21)
    totals = dict(Invoice.objects.filter(number__startswith="INV-5").values_list("number", "total"))
    numbers = rng.sample(sorted(totals), LINES)
    out = ["date,amount,currency,reference,counterparty"]
    for i, number in enumerate(numbers):
        roll, total = i % 20, totals[number]
        if roll < 12:
            amount, ref = total, f"Payment {number}"
        elif roll < 15:
            amount, ref = total - 1, number
        elif roll < 17:
            amount, ref = total + 1, number
        elif roll < 19:
            amount, ref = total, f"order {i} thanks"
        else:
            first = numbers[i - 19]
            amount, ref = totals[first], first
        out.append(f"2026-12-01,{amount},USD,{ref},Customer {i % CUSTOMERS}")
    return ("\n".join(out) + "\n").encode()


def run() -> dict:
    setup_django(database_url=DB)
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from billing.models import StatementLine
    from billing.services.statements import statement_import

    with Timer() as build:
        _build()
    content = _statement()
    samples, queries = [], 0
    for _ in range(RUNS):
        _reset()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            statement = statement_import(content=content, format="csv", currency="USD", filename="bench.csv")
            samples.append(time.perf_counter() - start)
        queries = len(ctx.captured_queries)
    counts = dict(
        StatementLine.objects.filter(statement=statement)
        .values("match_status")
        .annotate(n=Count("pk"))
        .values_list("match_status", "n")
    )
    assert sum(counts.values()) == LINES
    assert StatementLine.objects.filter(match_status="posted", payment__isnull=True).count() == 0
    return {
        "name": "statement_matching",
        "figures": {
            "open invoices": INVOICES,
            "statement lines": LINES,
            "import + match + post, median s": round(statistics.median(samples), 3),
            "import + match + post, min s": round(min(samples), 3),
            "SQL statements": queries,
            **{f"lines {k}": v for k, v in sorted(counts.items())},
        },
        "unit": {},
        "notes": f"median of {RUNS} runs; data build {build.elapsed:.1f}s (first run only builds rows); "
        "target: under 10 s",
    }


if __name__ == "__main__":
    emit(run())

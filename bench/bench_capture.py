"""Order capture over HTTP against its floors, and hot-SKU contention.

gunicorn (2 x cores + 1 sync workers) on PostgreSQL and a throwaway redis-server; an asyncio load
generator on loopback posts 4-line orders with unique Idempotency-Keys through the complete path
(API key auth, validation, pricing, checks, reservation at capture, idempotency record, audit event,
outbox row) at 1, 8 and 32 clients. In the same run, the same rows are written by
(a) a minimal Django view (bench/minimal_urls.py: ORM, same middleware, nothing else) and
(b) raw SQL through psycopg2 (INSERT ... SELECT from the template rows, three commits per order
like the API).
Figures are medians over BENCH_CAPTURE_RUNS rounds of BENCH_CAPTURE_SECONDS per level; the three
paths are interleaved within each round so drift hits them alike.

Hot SKU: every order reserves one unit of the same SKU (plus three others), at 8 and 32 clients:
orders/s and p99 with every capture queueing on one stock row; then a sell-out: BENCH_SELLOUT_STOCK
units and 32 clients, after which exactly that many units are reserved (reserved == on hand ==
active reservations == lines not back-ordered: no oversell, nothing lost) and the rest of the
demand is back-ordered. PostgreSQL's deadlock counter for the database must not move.

The hot-SKU levels and the sell-out run while a Celery worker (with beat) is busy on the same
channel (BENCH_HOT_WORKER=0 leaves it out): the fulfillment processes are seeded just before, so
its relay starts processes for every order captured so far and it runs their steps (schedule,
reserve, ...), which lock those orders' process, step and fulfillment-line rows and change the
same stock rows, while the captures go on.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from _common import ROOT, emit, setup_django
from loadgen import closed_loop, median_summary

CAPTURE_DB = os.environ.get(
    "OMS_BENCH_CAPTURE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_capture"
)
SECONDS = float(os.environ.get("BENCH_CAPTURE_SECONDS", "6"))
RUNS = int(os.environ.get("BENCH_CAPTURE_RUNS", "3"))
LEVELS = [int(x) for x in os.environ.get("BENCH_CAPTURE_CLIENTS", "1,8,32").split(",")]
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
HOT_STOCK = int(os.environ.get("BENCH_HOT_STOCK", "100000"))
SELLOUT_STOCK = int(os.environ.get("BENCH_SELLOUT_STOCK", "50"))
HOT_WORKER = os.environ.get("BENCH_HOT_WORKER", "1") != "0"


class Worker:
    """`celery -A oms worker -B` on the benchmark's database and broker."""

    def __init__(self, *, env: dict[str, str], log: Path):
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "oms", "worker", "-B", "-s", str(log.with_suffix(".beat")),
             "-P", "threads", "-c", "4", "-l", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def _steps_completed() -> int:
    from fulfillment.models import StepInstance
    from fulfillment.states import StepStatus

    return StepInstance.objects.filter(status=StepStatus.COMPLETED).count()


class Server:
    def __init__(self, *, env: dict[str, str], log: Path):
        from tests.support.services import free_port

        self.port = free_port()
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "oms.wsgi:application",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(WORKERS),
                "--timeout",
                "60",
                "--backlog",
                "2048",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early, see {log}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()  # never leave a half-started server behind
        raise TimeoutError(f"gunicorn did not start, see {log}")

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()


class SqlFloor:
    """The capture's rows written with hand-written SQL: one transaction and ~10 statements per
    order, each INSERT copying the template order's rows with new keys."""

    def __init__(self, template_number: str, customer_ids: list[int], position_ids: list[int]):
        from django.db import connection

        from customers.models import CreditExposure
        from inventory.models import Reservation
        from oms.kernel.models import OutboxDelivery, OutboxEvent
        from orders.models import IdempotencyKey, OrderEvent, OrderLine, SalesOrder

        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM orders_salesorder WHERE number = %s AND revision = 1", [template_number]
            )
            self.order_id = cur.fetchone()[0]
            cur.execute("SELECT id FROM kernel_outboxevent WHERE aggregate_id = %s", [template_number])
            self.event_id = cur.fetchone()[0]
            cur.execute(
                "SELECT id FROM orders_idempotencykey ORDER BY id DESC LIMIT 1",
            )
            self.key_id = cur.fetchone()[0]
        self.customer_ids = customer_ids
        with connection.cursor() as cur:  # the template's reservations by line, read once
            cur.execute(
                "SELECT r.id, l.line_number FROM inventory_reservation r JOIN orders_orderline l"
                " ON r.demand_type = 'order_line' AND r.demand_id = l.id::text WHERE l.order_id = %s"
                " ORDER BY l.line_number",
                [self.order_id],
            )
            rows = cur.fetchall()
        self.res_ids, self.res_lines = [r[0] for r in rows], [r[1] for r in rows]
        self.position_ids = position_ids

        def copy(model, overrides: dict[str, str], source: str, alias: str = "t") -> str:
            cols = [f.column for f in model._meta.concrete_fields if not f.primary_key]
            exprs = [overrides.get(c, f'{alias}."{c}"') for c in cols]
            return (
                f'INSERT INTO "{model._meta.db_table}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                f"SELECT {', '.join(exprs)} FROM {source}"
            )

        self.sql_key = (
            copy(
                IdempotencyKey,
                {"key": "%(key)s", "principal": "'bench-sql'"},
                '"orders_idempotencykey" t WHERE t.id = %(key_id)s',
            )
            + " RETURNING id"
        )
        self.sql_order = (
            copy(
                SalesOrder,
                {
                    "number": "'SO-Q' || nextval('orders_order_number_seq')",
                    "source_order_id": "%(source)s",
                    "customer_id": "%(customer)s",
                },
                '"orders_salesorder" t WHERE t.id = %(order_id)s',
            )
            + " RETURNING id, total"
        )
        self.sql_lines = copy(
            OrderLine, {"order_id": "%(new_order)s"}, '"orders_orderline" t WHERE t.order_id = %(order_id)s'
        )
        positions = "SELECT unnest(%(positions)s::bigint[])"
        # Row locks in primary-key order first (as inventory takes them), so twins never deadlock.
        self.sql_lock = (
            f"SELECT id FROM inventory_stockposition WHERE id IN ({positions}) ORDER BY id FOR UPDATE"
        )
        self.sql_stock = (
            f"UPDATE inventory_stockposition SET reserved = reserved + 1 WHERE id IN ({positions})"
            " AND on_hand >= reserved + 1"
        )
        self.sql_reservations = copy(
            Reservation,
            {"demand_id": "nl.id::text", "position_id": "(%(positions)s::bigint[])[m.ln]"},
            '"inventory_reservation" t JOIN (SELECT unnest(%(res_ids)s::bigint[]) AS rid,'
            " unnest(%(res_lines)s::int[]) AS ln) m ON t.id = m.rid"
            ' JOIN "orders_orderline" nl ON nl.order_id = %(new_order)s AND nl.line_number = m.ln',
        )
        self.sql_audit = copy(
            OrderEvent, {"order_id": "%(new_order)s"}, '"orders_orderevent" t WHERE t.order_id = %(order_id)s'
        )
        self.sql_event = (
            copy(
                OutboxEvent,
                {"aggregate_id": "%(source)s"},
                '"kernel_outboxevent" t WHERE t.id = %(event_id)s',
            )
            + " RETURNING id"
        )
        self.sql_delivery = copy(
            OutboxDelivery,
            {"event_id": "%(new_event)s"},
            '"kernel_outboxdelivery" t WHERE t.event_id = %(event_id)s',
        )
        self.sql_credit = (
            f'UPDATE "{CreditExposure._meta.db_table}"'
            " SET open_orders_amount = open_orders_amount + %(total)s WHERE customer_id = %(customer)s"
        )
        self.sql_key_done = (
            "UPDATE orders_idempotencykey SET status = 'completed', locked_until = NULL,"
            " response_status = 201, response_body = %(body)s WHERE id = %(new_key)s"
        )

    def one(self, conn, n: int) -> None:
        p = {
            "key": uuid.uuid4().hex,
            "key_id": self.key_id,
            "order_id": self.order_id,
            "event_id": self.event_id,
            "source": uuid.uuid4().hex,
            "customer": self.customer_ids[n % len(self.customer_ids)],
            "positions": random.sample(self.position_ids, 4),
            "res_ids": self.res_ids,
            "res_lines": self.res_lines,
        }
        with conn.cursor() as cur:
            cur.execute(self.sql_key, p)
            p["new_key"] = cur.fetchone()[0]
            conn.commit()
            cur.execute(self.sql_order, p)
            p["new_order"], p["total"] = cur.fetchone()
            cur.execute(self.sql_lines, p)
            cur.execute(self.sql_lock, p)
            cur.execute(self.sql_stock, p)
            cur.execute(self.sql_reservations, p)
            cur.execute(self.sql_audit, p)
            cur.execute(self.sql_event, p)
            p["new_event"] = cur.fetchone()[0]
            cur.execute(self.sql_delivery, p)
            cur.execute(self.sql_credit, p)
            conn.commit()
            p["body"] = b'{"number": "x"}'
            cur.execute(self.sql_key_done, p)
            conn.commit()

    def run(self, *, clients: int, seconds: float):
        from urllib.parse import urlsplit

        import psycopg2
        from loadgen import LoadResult

        parts = urlsplit(CAPTURE_DB)
        result = LoadResult(clients=clients, seconds=seconds)
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def client(i: int) -> None:
            conn = psycopg2.connect(
                host=parts.hostname,
                port=parts.port or 5432,
                user=parts.username or "postgres",
                dbname=parts.path.lstrip("/"),
            )
            n = i
            try:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    try:
                        self.one(conn, n)
                        elapsed, status = time.perf_counter() - started, 201
                    except psycopg2.Error:
                        conn.rollback()
                        elapsed, status = 0.0, 500
                    n += clients
                    with lock:
                        result.statuses[status] += 1
                        if status == 201:
                            result.latencies.append(elapsed)
            finally:
                conn.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.seconds = time.perf_counter() - started
        return result


def run() -> dict:
    setup_django(database_url=CAPTURE_DB)
    from capture_world import CUSTOMERS, hot_sku_create, order_body, world_build
    from django.db import connection

    from customers.models import Customer
    from inventory.models import Reservation, ReservationStatus, StockPosition
    from orders.models import OrderLine
    from tests.support.services import RedisServer

    world = world_build()
    customer_ids = list(
        Customer.objects.filter(account_number__startswith="C-BENCH-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # The floors reserve 4 of the same 40 stock rows the capture draws its SKUs from.
    position_ids = list(
        StockPosition.objects.filter(product__sku__in=world.skus, warehouse__code="wh-bench").values_list(
            "pk", flat=True
        )
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    redis = RedisServer(tmp)
    redis.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="oms.settings",
        DATABASE_URL=CAPTURE_DB,
        REDIS_URL=redis.url,
        DEBUG="0",
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        OMS_ORDERS_THROTTLE_RATE="100000000/min",
        OMS_ROOT_URLCONF="bench.minimal_urls",
        OMS_VAR_DIR=str(tmp / "var"),
        PYTHONPATH=str(ROOT),
    )
    try:
        server = Server(env=env, log=tmp / "gunicorn.log")
    except Exception:
        redis.stop()
        raise
    host, port = "127.0.0.1", server.port
    worker: Worker | None = None
    auth = {"Authorization": f"Api-Key {world.key}", "Content-Type": "application/json"}
    counter = iter(range(10**9))

    def capture_request(skus_for=lambda: random.sample(world.skus, 4)):
        def make():
            n = next(counter)
            return order_body(skus_for(), customer=n), {**auth, "Idempotency-Key": uuid.uuid4().hex}

        return make

    try:
        warm = closed_loop(
            host=host,
            port=port,
            path="/api/v1/orders",
            clients=WORKERS,
            seconds=3,
            make_request=capture_request(),
        )
        assert warm.ok, f"warm-up captured nothing: {warm.statuses} (see {tmp / 'gunicorn.log'})"
        template = connection.cursor()
        template.execute(
            "SELECT o.number FROM orders_salesorder o JOIN partners_channel c ON c.id = o.channel_id"
            " WHERE c.code = %s ORDER BY o.id DESC LIMIT 1",
            [world.channel_code],
        )
        template_number = template.fetchone()[0]

        def minimal_request():
            n = next(counter)
            body = json.dumps(
                {
                    "template": template_number,
                    "source_order_id": uuid.uuid4().hex,
                    "customer_id": customer_ids[n % CUSTOMERS],
                    "positions": random.sample(position_ids, 4),
                }
            ).encode()
            return body, {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}

        closed_loop(
            host=host,
            port=port,
            path="/bench/minimal-order",
            clients=WORKERS,
            seconds=2,
            make_request=minimal_request,
        )
        sql = SqlFloor(template_number, customer_ids, position_ids)

        runs: dict[tuple[str, int], list] = {}
        for _ in range(RUNS):
            for clients in LEVELS:
                runs.setdefault(("capture", clients), []).append(
                    closed_loop(
                        host=host,
                        port=port,
                        path="/api/v1/orders",
                        clients=clients,
                        seconds=SECONDS,
                        make_request=capture_request(),
                    )
                )
                runs.setdefault(("minimal", clients), []).append(
                    closed_loop(
                        host=host,
                        port=port,
                        path="/bench/minimal-order",
                        clients=clients,
                        seconds=SECONDS,
                        make_request=minimal_request,
                    )
                )
                runs.setdefault(("sql", clients), []).append(sql.run(clients=clients, seconds=SECONDS))
        summary = {f"{path}@{clients}": median_summary(r) for (path, clients), r in runs.items()}

        # Hot SKU: each round starts with a fresh SKU holding HOT_STOCK units.
        hot: dict[int, dict] = {}
        with connection.cursor() as cur:
            cur.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            deadlocks_before = cur.fetchone()[0]
        if HOT_WORKER:
            from fulfillment.seeding import processes_seed

            processes_seed()
            idle = _steps_completed()  # a reused database holds the steps of earlier runs
            worker = Worker(env=env, log=tmp / "worker.log")
            # The worker first relays the ratio levels' backlog (thousands of orders: their emails and
            # process starts, oldest first); its first step can take minutes after that many orders.
            deadline = time.monotonic() + 900
            while _steps_completed() == idle:  # busy before the first hot order is sent
                assert worker.proc.poll() is None, f"worker exited, see {worker.log_path}"
                assert time.monotonic() < deadline, f"the worker ran no step, see {worker.log_path}"
                time.sleep(0.2)
        for clients in (8, 32):
            steps_before = _steps_completed()
            sku = hot_sku_create(sku=f"HOT-{uuid.uuid4().hex[:8].upper()}", stock=HOT_STOCK)

            def hot_lines(sku: str = sku) -> list[str]:
                return [sku, *random.sample(world.skus, 3)]

            result = closed_loop(
                host=host,
                port=port,
                path="/api/v1/orders",
                clients=clients,
                seconds=SECONDS,
                make_request=capture_request(hot_lines),
            )
            position = StockPosition.objects.get(product__sku=sku)
            held = sum(
                Reservation.objects.filter(position=position, status=ReservationStatus.ACTIVE).values_list(
                    "quantity", flat=True
                )
            )
            assert position.reserved <= position.on_hand, (
                f"oversold {sku}: {position.reserved} > {position.on_hand}"
            )
            assert held == position.reserved, f"{sku}: reservations {held} != reserved {position.reserved}"
            hot[clients] = {
                **result.summary(),
                "reserved": int(position.reserved),
                "on_hand": int(position.on_hand),
                "worker_steps": _steps_completed() - steps_before,
            }
        # Sell-out: SELLOUT_STOCK units, 32 clients; exactly that many are reserved, the rest of
        # the demand is back-ordered (the channel's shortage policy), never oversold.
        sku = hot_sku_create(sku=f"OUT-{uuid.uuid4().hex[:8].upper()}", stock=SELLOUT_STOCK)

        def sellout_lines(sku: str = sku) -> list[str]:
            return [sku, *random.sample(world.skus, 3)]

        ok = errors = 0
        for _ in range(60):  # until sold out and some demand is back-ordered (at most ~2 minutes)
            result = closed_loop(
                host=host,
                port=port,
                path="/api/v1/orders",
                clients=32,
                seconds=2,
                make_request=capture_request(sellout_lines),
            )
            ok, errors = ok + result.ok, errors + result.errors
            if OrderLine.objects.filter(product__sku=sku, backordered_quantity__gt=0).exists():
                break
        position = StockPosition.objects.get(product__sku=sku)
        held = sum(
            Reservation.objects.filter(position=position, status=ReservationStatus.ACTIVE).values_list(
                "quantity", flat=True
            )
        )
        reserved_lines = OrderLine.objects.filter(product__sku=sku, backordered_quantity=0).count()
        backordered = OrderLine.objects.filter(product__sku=sku, backordered_quantity__gt=0).count()
        assert position.reserved == position.on_hand == held == reserved_lines == SELLOUT_STOCK, (
            f"sell-out of {sku}: reserved {position.reserved}, on hand {position.on_hand}, "
            f"reservations {held}, reserved lines {reserved_lines}"
        )
        sellout = {
            "orders": ok,
            "reserved": int(position.reserved),
            "backordered_lines": backordered,
            "non_2xx": errors,
        }
        with connection.cursor() as cur:
            cur.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            deadlocks = cur.fetchone()[0] - deadlocks_before
        assert deadlocks == 0, f"{deadlocks} deadlock(s) during the hot-SKU runs"
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        redis.stop()

    figures: dict[str, object] = {}
    for clients in LEVELS:
        c, m, s = (summary[f"{p}@{clients}"] for p in ("capture", "minimal", "sql"))
        figures[f"capture @{clients}: orders/s"] = c["orders_per_s"]
        figures[f"capture @{clients}: p50/p95/p99 ms"] = f"{c['p50_ms']}/{c['p95_ms']}/{c['p99_ms']}"
        figures[f"capture @{clients}: errors"] = c["errors"]
        figures[f"minimal ORM @{clients}: orders/s"] = m["orders_per_s"]
        figures[f"minimal ORM @{clients}: p99 ms"] = m["p99_ms"]
        figures[f"raw SQL @{clients}: orders/s"] = s["orders_per_s"]
        figures[f"raw SQL @{clients}: p99 ms"] = s["p99_ms"]
        figures[f"capture/minimal @{clients}"] = round(c["orders_per_s"] / m["orders_per_s"], 2)
        figures[f"capture/SQL @{clients}"] = round(c["orders_per_s"] / s["orders_per_s"], 2)
    for clients, h in hot.items():
        figures[f"hot SKU @{clients}: orders/s"] = h["orders_per_s"]
        figures[f"hot SKU @{clients}: p99 ms"] = h["p99_ms"]
        figures[f"hot SKU @{clients}: reserved/on hand"] = f"{h['reserved']}/{h['on_hand']}"
        figures[f"hot SKU @{clients}: non-2xx"] = h["errors"]
        if HOT_WORKER:
            figures[f"hot SKU @{clients}: worker steps run meanwhile"] = h["worker_steps"]
    figures["sell-out @32: reserved / stock / back-ordered"] = (
        f"{sellout['reserved']}/{SELLOUT_STOCK}/{sellout['backordered_lines']}"
    )
    figures["sell-out @32: non-2xx"] = sellout["non_2xx"]
    figures["hot SKU + sell-out: deadlocks"] = deadlocks
    return {
        "name": "capture",
        "figures": figures,
        "unit": {},
        "detail": {
            "paths": summary,
            "hot": hot,
            "sellout": sellout,
            "web_workers": WORKERS,
            "seconds_per_level": SECONDS,
        },
        "notes": f"gunicorn {WORKERS} sync workers; 4-line orders; median of {RUNS} rounds x {SECONDS:g}s"
        " per level; the load generator runs on the same cores",
    }


if __name__ == "__main__":
    emit(run())

"""`make mutate`: mutation testing (mutmut 3) of the functions that hold the invariants, then the
surviving mutants per module. Configuration in pyproject.toml [tool.mutmut]; mutmut copies the
tree into mutants/ (git-ignored) and, for each mutant, runs only the tests that reach its function.

    python scripts/mutate.py                 # the invariant-holding functions (below)
    python scripts/mutate.py --report        # only print the figures of the last run
    python scripts/mutate.py --report --by-function   # the same, and per function
    python scripts/mutate.py 'oms.kernel.events.x__claim*'   # your own selection (mutmut globs)

One child at a time: the tests share one reused test database (`--reuse-db`), and a second child
flushing tables under the first would kill mutants for the wrong reason. docs/testing.md records
the figures and why each survivor left is harmless.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = str(Path(sys.executable).with_name("mutmut"))

# Functions (mutmut's names: module.x_<function>) whose lines are locks, guards, comparisons,
# rounding or commit boundaries. mutmut 3 does not mutate decorated functions, so services open
# their transaction with `with transaction.atomic():` inside the body rather than decorating it.
INVARIANT_FUNCTIONS = [
    "inventory.services.reservations.x__lock_positions",
    "inventory.services.reservations.x__reserve_positions",
    "inventory.services.reservations.x__reserve_locked",
    "inventory.services.reservations.x_stock_reserve",
    "inventory.services.reservations.x_reservation_release",
    "inventory.services.reservations.x_reservation_consume",
    "inventory.services.reservations.x_reservation_move",
    "inventory.services.reservations.x_backorder_create",
    "inventory.services.reservations.x_backorder_cancel",
    "inventory.services.stock.x_stock_receive",
    "inventory.services.stock.x_stock_adjust",
    "inventory.services.stock.x_stock_receive_bulk",
    "orders.services.idempotency.x_idempotency_claim",
    "orders.services.idempotency.x_idempotency_complete",
    "orders.services.idempotency.x_idempotency_abandon",
    "oms.kernel.events.x__claim",
    "oms.kernel.events.x__deliver",
    "oms.kernel.events.x__deliver_batch",
    "oms.kernel.events.x__mark_done",
    "oms.kernel.events.x__backoff",
    "oms.kernel.events.x_deliveries_replay",
    "pricing.engine.core.x_price",
    "pricing.engine.charges.x__tax_rule",
    "pricing.engine.rules.x__line_rule_amount",
    "customers.services.x_credit_exposure_adjust",
    "customers.services.x__exposure_add",
    "customers.services.x_customer_create",
    "fulfillment.services.engine.x_step_execute",
    "fulfillment.services.engine.x__execute_locked",
    "fulfillment.services.engine.x_process_start",
    "fulfillment.services.engine.x_step_signal",
    "fulfillment.services.engine.x_step_retry",
    "fulfillment.services.engine.x_step_skip",
    "fulfillment.services.engine.x_process_cancel",
]

STATUS = re.compile(r"^\s*(?P<name>\S+?)__mutmut_\d+: (?P<status>.+)$")


def report(flags: tuple[str, ...] = ()) -> int:
    out = subprocess.run(  # noqa: S603 (our own venv's mutmut, fixed arguments)
        [MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    counts: dict[str, Counter] = defaultdict(Counter)
    per_function: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        m = STATUS.match(line)
        if not m or m["name"] not in INVARIANT_FUNCTIONS:
            continue
        module = m["name"].rsplit(".", 1)[0]
        counts[module][m["status"]] += 1
        per_function[m["name"]][m["status"]] += 1
        if m["status"] == "survived":
            survivors[module].append(line.strip().split(":")[0])
    kinds = ["killed", "timeout", "survived", "no tests", "not checked"]
    print(f"{'module':40} " + " ".join(f"{k:>11}" for k in kinds))
    for module in sorted(counts):
        print(f"{module:40} " + " ".join(f"{counts[module][k]:>11}" for k in kinds))
    if "--by-function" in flags:
        print(f"\n{'function':60} " + " ".join(f"{k:>11}" for k in kinds))
        for name in INVARIANT_FUNCTIONS:
            if per_function[name]:
                print(f"{name:60} " + " ".join(f"{per_function[name][k]:>11}" for k in kinds))
    for module in sorted(survivors):
        print(f"\nsurviving in {module} ({len(survivors[module])}; `mutmut show <name>` for the diff):")
        for name in survivors[module]:
            print(f"  {name}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--report"]:
        return report(tuple(argv[1:]))
    selection = argv or [f"{name}__mutmut_*" for name in INVARIANT_FUNCTIONS]
    env = {**os.environ, "OMS_TEST_NAMESPACE": os.environ.get("OMS_TEST_NAMESPACE", "mutmut-")}
    run = subprocess.Popen([MUTMUT, "run", "--max-children", "1", *selection], cwd=ROOT, env=env)  # noqa: S603
    run.wait()
    _drop_kept_database(run.pid)
    return report()


def _drop_kept_database(pid: int) -> None:
    """`--reuse-db` keeps the run's test database (named after mutmut's process): drop it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        Path(db["TEST"]["NAME"].replace(str(os.getpid()), str(pid))).unlink(missing_ok=True)
        return
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "test_oms_{int(pid)}"')
    conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

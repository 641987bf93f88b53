"""The lock guard over the code: every `select_for_update(...)` names what it locks (`of=`).

PostgreSQL's `FOR UPDATE` without `OF` locks a row of every table in the query's FROM clause:
the tables `select_related(...)` joins, and the ones a filter across a relation joins
(`filter(process__fulfillment_line_id=...)`). A worker locking its fulfillment line then also
locked the order's channel row, and every capture's foreign-key check on that channel (`FOR KEY
SHARE`) deadlocked with it. So the rule is simple and checked here on the source: each call
passes `of=("self",)` or the tables it means (docs/development.md, "Locks").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", "node_modules", "migrations", "var", ".git", "__pycache__", "static"}
# A test that shows what an unscoped lock does may write one, marked on its line with this.
DELIBERATE = "lock-guard: deliberate"


def unscoped_locks(source: str) -> list[int]:
    """Line numbers of `select_for_update(...)` calls without an `of=` argument."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "select_for_update"
            and not any(kw.arg == "of" for kw in node.keywords)
            and DELIBERATE not in lines[node.lineno - 1]
        ):
            found.append(node.lineno)
    return sorted(found)


def python_files() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts)
    ]


def test_the_guard_finds_an_unscoped_lock_joined_with_select_related():
    source = (
        "def step_lock(pk):\n"
        "    return FulfillmentLine.objects.select_for_update().select_related('order__channel').get(pk=pk)\n"
        "def fine(pk):\n"
        "    return Line.objects.select_for_update(of=('self',)).select_related('order').get(pk=pk)\n"
        "def claim(qs):\n"
        "    return qs.select_for_update(skip_locked=True)\n"
    )
    assert unscoped_locks(source) == [2, 6]


def test_only_tests_may_mark_a_deliberate_unscoped_lock():
    marked = [
        path.relative_to(ROOT).as_posix()
        for path in python_files()
        if path != Path(__file__).resolve() and DELIBERATE in path.read_text(encoding="utf-8")
    ]
    assert all(name.startswith("tests/") for name in marked), marked


def test_the_guard_reads_the_whole_code_base():
    files = {path.relative_to(ROOT).as_posix() for path in python_files()}
    assert {"fulfillment/services/engine.py", "oms/kernel/events.py", "orders/services/holds.py"} <= files
    assert not any(name.startswith(".venv/") for name in files)


def test_every_select_for_update_names_what_it_locks():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files()
        for line in unscoped_locks(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        "select_for_update() without of= locks every joined row too (channel, customer, "
        "definition ...): pass of=('self',) or the tables you mean. Offenders: " + ", ".join(offenders)
    )

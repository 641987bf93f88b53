from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.support import services
from tests.support.browser import find_chromium

REQUIRE = os.environ.get("OMS_REQUIRE_SERVICES") == "1"
# Chromium for the browser tests (tests/e2e): OMS_CHROMIUM, a system one, or Playwright's download.
CHROMIUM = find_chromium()


def pytest_report_header(config):
    pg, redis = services.postgres_available(), services.redis_available()
    lines = [
        f"oms: database={'PostgreSQL' if pg else 'SQLite'}  broker={'Redis' if redis else 'filesystem'}"
        f"  ({settings.CELERY_BROKER_URL.split('@')[-1]})"
    ]
    missing = [name for name, ok in (("PostgreSQL", pg), ("Redis", redis)) if not ok]
    if missing:
        lines.append(
            f"oms: {' and '.join(missing)} not reachable: tests marked "
            f"{' / '.join(m.lower() for m in missing)} will be SKIPPED"
            + (" -- but OMS_REQUIRE_SERVICES=1, so the run fails" if REQUIRE else "")
        )
    if CHROMIUM:
        lines.append(f"oms: browser=Chromium ({CHROMIUM})")
    else:
        lines.append(
            f"oms: Chromium not found ({_chromium_hint()}): tests marked browser will be SKIPPED"
            + (" -- but OMS_REQUIRE_SERVICES=1, so the run fails" if REQUIRE else "")
        )
    return lines


def _chromium_hint() -> str:
    wanted = os.environ.get("OMS_CHROMIUM")
    if wanted:
        return f"OMS_CHROMIUM={wanted} does not exist"
    return "apt-get install chromium, or .venv/bin/playwright install chromium"


def pytest_configure(config):
    if REQUIRE:
        missing = [
            n
            for n, ok in (
                ("PostgreSQL", services.postgres_available()),
                ("Redis", services.redis_available()),
                (f"Chromium ({_chromium_hint()})", CHROMIUM),
            )
            if not ok
        ]
        if missing:
            raise pytest.UsageError(f"OMS_REQUIRE_SERVICES=1 but {', '.join(missing)} not reachable")


# Every test says what kind it is, so `-m` selections cover the suite (docs/testing.md).
KIND_MARKERS = ("unit", "integration", "concurrency", "worker", "browser", "fuzz")


def _without_kind(items) -> list[str]:
    return [item.nodeid for item in items if not any(item.get_closest_marker(k) for k in KIND_MARKERS)]


@pytest.hookimpl(trylast=True)  # after tests/e2e/conftest.py has marked its tests `browser`
def pytest_collection_modifyitems(config, items):
    unmarked = _without_kind(items)
    if unmarked:
        raise pytest.UsageError(
            f"{len(unmarked)} test(s) carry no kind marker; mark each (a module-level `pytestmark` or "
            f"`@pytest.mark.<kind>`) with one of: {', '.join(KIND_MARKERS)}.\n  " + "\n  ".join(unmarked)
        )
    pg, redis = services.postgres_available(), services.redis_available()
    for item in items:
        if "postgres" in item.keywords and not pg:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL or start it)"))
        if "redis" in item.keywords and not redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis (set REDIS_URL or start it)"))
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium ({_chromium_hint()})"))


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"oms: {len(skipped)} test(s) skipped because a service or the browser is missing; "
            "run with PostgreSQL, Redis and Chromium (as CI does) to run everything.",
            yellow=True,
        )


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin_client, signed in with a verified second factor (the admin asks for
    it: docs/security.md)."""
    from django.test import Client

    from tests.support.otp import login_verified

    return login_verified(Client(), admin_user)


@pytest.fixture
def celery_worker_factory(request, tmp_path):
    """Start real `celery worker` processes on this test's broker and database."""
    started: list[services.WorkerProcess] = []

    def start(**kwargs) -> services.WorkerProcess:
        proc = services.WorkerProcess(log_dir=tmp_path, **kwargs)
        proc.start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for proc in started:
            print(proc.log_tail())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep

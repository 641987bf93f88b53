"""Settings for the test suite: oms.settings, pointed at per-xdist-worker resources.

Service discovery: DATABASE_URL / REDIS_URL when set; else PostgreSQL and Redis on 127.0.0.1
when they answer; else SQLite and the filesystem broker (tests that need a server are skipped,
and the run says so; with OMS_REQUIRE_SERVICES=1 a missing service fails the run instead).
Each xdist worker gets its own database (pytest-django suffix), Redis database number and queue.
"""

import os
import socket
from urllib.parse import urlsplit, urlunsplit

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0
# Two suites run at once on one machine (say, from two work trees) set different namespaces, so
# their Celery queues and Redis databases do not meet: OMS_TEST_NAMESPACE=b OMS_TEST_REDIS_OFFSET=4.
NAMESPACE = os.environ.get("OMS_TEST_NAMESPACE", "")
REDIS_OFFSET = int(os.environ.get("OMS_TEST_REDIS_OFFSET", "0"))


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if not os.environ.get("OMS_TEST_RESOLVED"):
    # A subprocess (a test's Celery worker or web server) inherits resolved URLs and keeps them.
    if not os.environ.get("DATABASE_URL") and _reachable("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/oms"
    # REDIS_URL set but empty means "no Redis" (how a bare machine is simulated).
    redis_url = (
        os.environ["REDIS_URL"]
        if "REDIS_URL" in os.environ
        else ("redis://127.0.0.1:6379/0" if _reachable("127.0.0.1", 6379) else "")
    )
    if redis_url:
        parts = urlsplit(redis_url)
        os.environ["REDIS_URL"] = urlunsplit(
            parts._replace(path=f"/{1 + (REDIS_OFFSET + WORKER_INDEX) % 15}")
        )
        os.environ.pop("CELERY_BROKER_URL", None)
        os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ["OMS_VAR_DIR"] = os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "var", f"test-{WORKER}"
    )

os.environ["CELERY_QUEUE"] = f"oms-test-{NAMESPACE}{WORKER}"
os.environ.setdefault("OMS_EXTRA_APPS", "tests.testapp")
os.environ.setdefault("OMS_ROOT_URLCONF", "tests.urls")
os.environ.setdefault("OMS_OUTBOX_MAX_ATTEMPTS", "4")
os.environ.setdefault("OMS_OUTBOX_BACKOFF_SECONDS", "0.2")
os.environ.setdefault("OMS_OUTBOX_SWEEP_SECONDS", "0.5")
os.environ.setdefault("OMS_OUTBOX_LEASE_SECONDS", "30")
# /metrics needs this bearer token (tests.support.services.METRICS_AUTH); subprocesses inherit it.
os.environ.setdefault("OMS_METRICS_TOKEN", "test-metrics-token")
# The bad-API-key counter per address outlives a test (Redis, this process' cache) and every test
# calls from 127.0.0.1: tests that exercise the limit set a low one (tests/partners/test_key_security.py).
os.environ.setdefault("OMS_API_BAD_KEY_LIMIT", "100000")

from oms.settings import *  # noqa: E402, F403
from oms.settings import DATABASES, VAR_DIR  # noqa: E402

# One test database per pytest process (xdist adds its _gwN suffix), so two runs on one machine do
# not drop each other's database. Subprocesses started by tests get the resolved name.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a worker subprocess can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_oms_{os.getpid()}"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users

# A second alias to the same server, as DATABASE_REPLICA_URL would make: the reports' replica
# routing is tested against it (tests/reporting/test_replica.py); reports read from "default"
# unless a test points OMS_REPORTS_DATABASE at it.
if "replica" not in DATABASES:
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
OMS_REPORTS_DATABASE = "default"

"""Operability: /healthz, /metrics, and a lost database answering 503 (never a 500 page)."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

import pytest
from celery import shared_task
from django.db import OperationalError, connection, transaction
from django.http import JsonResponse
from django.test import Client
from django.urls import path

from oms.kernel import events
from oms.kernel.tasks import ping
from oms.kernel.views import check_broker
from oms.urls import handler500
from partners.models import Channel
from tests.support.otp import login_verified
from tests.support.services import METRICS_AUTH, free_port
from tests.urls import urlpatterns as _project_urlpatterns


def _touch_session(request):
    request.session["seen"] = True  # saved by SessionMiddleware *after* the view returns
    return JsonResponse({"ok": True})


# A urlconf for the one test that needs a view of its own: the project's routes and handler500.
urlpatterns = [*_project_urlpatterns, path("kernel-test/touch-session", _touch_session)]

pytestmark = pytest.mark.integration


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="desk", password="x", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(staff):
    # raise_request_exception=False: see what a real client gets, even for an unhandled error.
    client = Client(raise_request_exception=False)
    return login_verified(client, staff)  # a superuser holds the admin role: second factor too


@contextmanager
def database_down(match: str = ""):
    """Every SQL statement (or those containing `match`) fails as on a dead connection."""

    def refuse(execute, sql, params, many, context):
        if match in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


def closed_broker_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # bound, then released: nothing listens there


def assert_unavailable_envelope(response) -> None:
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == "service_unavailable" and body["fields"] == {}


# --- /healthz --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.redis
def test_healthz_is_200_when_database_and_broker_answer(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    response = client.get("/healthz", headers=METRICS_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["broker"] == "ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_and_fast_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = closed_broker_url()
    started = time.monotonic()
    response = client.get("/healthz", headers=METRICS_AUTH)
    assert time.monotonic() - started < 2.0  # a probe must not hang past a load balancer timeout
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"] != "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client):
    with database_down():
        response = client.get("/healthz", headers=METRICS_AUTH)
    assert response.status_code == 503
    assert response.json()["database"] == "OperationalError"


@pytest.mark.django_db
def test_healthz_tells_a_stranger_only_up_or_down(client, settings):
    assert set(client.get("/healthz").json()) == {"status"}
    with database_down():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    wrong = client.get("/healthz", headers={"Authorization": "Bearer not-the-token"})
    assert set(wrong.json()) == {"status"}


@pytest.mark.django_db
def test_metrics_is_401_without_the_token_and_200_with_it(client, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Api-Key test-metrics-token"}).status_code == 401
    ok = client.get("/metrics", headers=METRICS_AUTH)
    assert ok.status_code == 200 and "django_http_requests" in ok.content.decode()
    settings.OMS_METRICS_TOKEN = ""  # unset: nobody, not even an empty bearer
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.redis
def test_check_broker_tells_a_live_broker_from_a_dead_one(settings):
    assert check_broker() == (True, "ok")
    assert check_broker(settings.CELERY_BROKER_URL) == (True, "ok")
    ok, detail = check_broker(closed_broker_url())
    assert not ok and detail == "OperationalError"


def test_healthz_refuses_other_methods(client):
    assert client.post("/healthz").status_code == 405


# --- /metrics --------------------------------------------------------------------------------


def scrape(client) -> str:
    response = client.get("/metrics", headers=METRICS_AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample, matched by name and (a subset of) its labels."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return None


@pytest.mark.django_db
def test_metrics_exposes_django_request_metrics(client):
    client.get("/healthz")
    text = scrape(client)
    assert "# TYPE django_http_requests_total_by_method_total counter" in text
    assert sample(text, "django_http_requests_total_by_method_total", method="GET") >= 1
    assert sample(text, "django_http_responses_total_by_status_total") is not None


@pytest.mark.django_db
def test_metrics_outbox_gauge_counts_real_pending_and_dead_deliveries(client):
    text = scrape(client)
    assert sample(text, "oms_outbox_deliveries", status="pending") == 0
    with transaction.atomic():
        first = events.publish("test.metrics", {"seq": 1}, aggregate=("order", 1))
        events.publish("test.metrics", {"seq": 2}, aggregate=("order", 1))
    per_event = first.deliveries.count()
    assert per_event >= 2  # the test subscribers and the webhook fan-out

    text = scrape(client)
    assert sample(text, "oms_outbox_deliveries", status="pending") == 2 * per_event
    assert sample(text, "oms_outbox_deliveries", status="dead") == 0

    first.deliveries.filter(subscriber="test.flaky").update(status="dead")
    text = scrape(client)
    assert sample(text, "oms_outbox_deliveries", status="pending") == 2 * per_event - 1
    assert sample(text, "oms_outbox_deliveries", status="dead") == 1


@shared_task(name="tests.kernel.test_health.explode")
def explode() -> None:
    raise RuntimeError("boom")


@pytest.mark.django_db
def test_metrics_count_celery_task_outcomes(client):
    def counted(task: str, outcome: str) -> float:
        return sample(scrape(client), "oms_celery_tasks_total", task=task, outcome=outcome) or 0.0

    before_ok = counted("oms.kernel.tasks.ping", "success")
    before_failed = counted("tests.kernel.test_health.explode", "failure")

    assert ping.apply().get() == "pong"
    assert ping.apply().get() == "pong"
    failed = explode.apply()
    assert failed.failed()

    assert counted("oms.kernel.tasks.ping", "success") == before_ok + 2
    assert counted("tests.kernel.test_health.explode", "failure") == before_failed + 1


# --- a lost database -------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_answers_503_envelope_when_the_database_is_down(staff_client):
    Channel.objects.create(code="web", name="Web", type="web")
    assert staff_client.get("/api/v1/channels/").status_code == 200
    with database_down():
        response = staff_client.get("/api/v1/channels/")
    assert_unavailable_envelope(response)


@pytest.mark.django_db
def test_admin_answers_503_when_the_database_is_down(staff_client):
    assert staff_client.get("/admin/partners/channel/").status_code == 200
    with database_down():
        response = staff_client.get("/admin/partners/channel/")
    assert_unavailable_envelope(response)


@pytest.mark.django_db
def test_admin_answers_503_when_only_the_changelist_query_fails(staff_client):
    # The session and user load fine; the failure comes while rendering the changelist.
    with database_down(match='"partners_channel"'):
        response = staff_client.get("/admin/partners/channel/")
    assert_unavailable_envelope(response)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_database_error_after_the_view_is_a_503_not_a_500(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    assert client.get("/kernel-test/touch-session").status_code == 200
    # A new visitor: the view only fills an empty session; SessionMiddleware creates the row
    # after the view returned, outside any view's exception handling, and hits the dead database.
    fresh = Client(raise_request_exception=False)
    with database_down(match='"django_session"'):
        response = fresh.get("/kernel-test/touch-session")
    assert_unavailable_envelope(response)


def test_the_project_urlconf_declares_the_503_handler():
    import oms.urls

    assert oms.urls.handler500 == "oms.kernel.views.server_error"
    assert handler500 == "oms.kernel.views.server_error"

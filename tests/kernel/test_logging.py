"""Correlation ids on requests and log lines; JSON logs for machines (LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import JsonResponse
from django.urls import path

from oms.kernel.context import correlation, get_correlation_id
from oms.kernel.logging import CorrelationIdFilter, JsonFormatter
from tests.urls import urlpatterns as _project_urlpatterns

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("oms.kernel.test_logging")


def _logs_something(request):
    log.warning("handling %s", request.path)
    return JsonResponse({"correlation_id": get_correlation_id()})


urlpatterns = [*_project_urlpatterns, path("kernel-test/log", _logs_something)]


# --- the middleware --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.integration
def test_a_given_request_id_is_echoed_and_used_as_the_correlation_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="shop-7.order-42:retry-1")
    assert response["X-Request-ID"] == "shop-7.order-42:retry-1"


@pytest.mark.django_db
@pytest.mark.integration
def test_a_request_without_an_id_gets_a_fresh_one(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.django_db
@pytest.mark.integration
@pytest.mark.parametrize("unsafe", ["two words", "x" * 65, "id\r\nSet-Cookie: a=b", "<script>"])
def test_an_unsafe_request_id_is_replaced_not_echoed(client, unsafe):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=unsafe)
    assert response["X-Request-ID"] != unsafe
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
@pytest.mark.integration
@pytest.mark.urls(__name__)
def test_a_log_line_inside_a_request_carries_its_id(client, caplog):
    caplog.handler.addFilter(CorrelationIdFilter())
    with caplog.at_level(logging.INFO, logger=log.name):
        response = client.get("/kernel-test/log", HTTP_X_REQUEST_ID="req-77")
    assert response.json() == {"correlation_id": "req-77"}
    records = [r for r in caplog.records if r.name == log.name]
    assert [r.getMessage() for r in records] == ["handling /kernel-test/log"]
    assert records[0].correlation_id == "req-77"
    assert get_correlation_id() == ""  # the request's id does not leak into what runs next


@pytest.mark.django_db
@pytest.mark.integration
@pytest.mark.urls(__name__)
def test_a_generated_id_is_the_one_in_the_log_and_on_the_response(client, caplog):
    caplog.handler.addFilter(CorrelationIdFilter())
    with caplog.at_level(logging.INFO, logger=log.name):
        response = client.get("/kernel-test/log")
    (record,) = [r for r in caplog.records if r.name == log.name]
    assert record.correlation_id == response["X-Request-ID"] == response.json()["correlation_id"]


# --- filter and formatter --------------------------------------------------------------------


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    record = log.makeRecord(log.name, logging.ERROR, __file__, 1, message, args, exc_info)
    CorrelationIdFilter().filter(record)
    return record


@pytest.mark.unit
def test_the_filter_marks_lines_outside_any_request_with_a_dash():
    assert _record("idle").correlation_id == "-"
    with correlation("order-42"):
        assert _record("busy").correlation_id == "order-42"


@pytest.mark.unit
def test_json_formatter_emits_one_object_per_line_with_the_correlation_id():
    with correlation("order-42"):
        record = _record("line one\nline two for %s", "ACME")
    line = JsonFormatter().format(record)
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["correlation_id"] == "order-42"
    assert doc["message"] == "line one\nline two for ACME"
    assert doc["level"] == "ERROR" and doc["logger"] == log.name
    assert doc["ts"].endswith("+00:00")


@pytest.mark.unit
def test_json_formatter_keeps_a_traceback_on_the_same_line():
    try:
        raise ValueError("broken")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    doc = json.loads(line)
    assert "ValueError: broken" in doc["exc_info"]
    assert doc["correlation_id"] is None  # outside any request: null, not a made-up id


# --- LOG_FORMAT switches the configured handler ----------------------------------------------

_PROBE = (
    "import django, logging; django.setup()\n"
    "from oms.kernel.context import correlation\n"
    "with correlation('sub-1'):\n"
    "    logging.getLogger('oms.probe').warning('hello %s', 'world')\n"
)


def _clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a fresh deployment: none of the test run's service or app settings."""
    prefixes = ("OMS_", "DATABASE_", "REDIS_", "CELERY_", "DJANGO_", "LOG_", "PYTEST_", "PROMETHEUS_")
    keys = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in keys}
    env.update(DJANGO_SETTINGS_MODULE="oms.settings", OMS_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def _run_probe(tmp_path: Path, log_format: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=_clean_env(tmp_path, LOG_FORMAT=log_format),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.mark.unit
def test_log_format_json_makes_every_line_a_json_object(tmp_path):
    result = _run_probe(tmp_path, "json")
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines, "the probe logged nothing"
    docs = [json.loads(line) for line in lines]  # every line parses, or this raises
    probe = [d for d in docs if d["logger"] == "oms.probe"]
    assert probe == [{**probe[0], "message": "hello world", "level": "WARNING", "correlation_id": "sub-1"}]


@pytest.mark.unit
def test_log_format_text_is_the_default_and_names_the_correlation_id(tmp_path):
    result = _run_probe(tmp_path, "text")
    (line,) = [line for line in result.stderr.splitlines() if "oms.probe" in line]
    assert "WARNING [sub-1] oms.probe: hello world" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)

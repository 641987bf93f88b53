"""The API contract: OpenAPI 3, generated without a warning, published at /api/schema/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_JSON = "application/vnd.oai.openapi+json"


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a fresh deployment: none of the test run's service or app settings."""
    prefixes = ("OMS_", "DATABASE_", "REDIS_", "CELERY_", "DJANGO_", "LOG_", "PYTEST_", "PROMETHEUS_")
    keys = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in keys}
    env.update(DJANGO_SETTINGS_MODULE="oms.settings", OMS_VAR_DIR=str(tmp_path))
    env.update(overrides)
    return env


@pytest.mark.unit
def test_the_schema_generates_and_validates_without_a_single_warning(tmp_path):
    out = tmp_path / "schema.json"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format",
            "openapi-json",
            "--file",
            str(out),
        ],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    schema = json.loads(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert all(p.startswith("/api/v1/") for p in schema["paths"])


@pytest.mark.django_db
@pytest.mark.integration
def test_the_schema_is_public_and_is_openapi_3(client):
    response = client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(SCHEMA_JSON)
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "OMS API"
    assert "/api/v1/channels/" in schema["paths"]


@pytest.mark.django_db
@pytest.mark.integration
def test_the_schema_documents_how_callers_authenticate_and_the_error_envelope(client):
    schema = json.loads(client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).content)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ChannelApiKey"] == {**schemes["ChannelApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["PartnerCredential"]["type"] == "apiKey"
    assert "cookieAuth" in schemes  # staff sessions
    detail = schema["paths"]["/api/v1/channels/{code}/"]["get"]
    assert detail["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "fields"}


@pytest.mark.django_db
@pytest.mark.integration
def test_the_schema_is_the_same_for_staff_and_anonymous(client, django_user_model):
    anonymous = client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).content
    client.force_login(django_user_model.objects.create_user(username="desk", is_staff=True))
    staff = client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)
    assert staff.status_code == 200
    assert json.loads(staff.content) == json.loads(anonymous)


@pytest.mark.django_db
@pytest.mark.integration
def test_the_api_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.django_db
@pytest.mark.integration
def test_write_operations_document_the_503_retry_answer(client):
    schema = json.loads(client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).content)
    writes = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("post", "put", "patch", "delete")
    ]
    assert writes
    for path, method, op in writes:
        answer = op["responses"].get("503")
        assert answer is not None, f"{method.upper()} {path} documents no 503"
        assert "`retry`" in answer["description"], f"{method.upper()} {path}: {answer['description']}"
        assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    capture = schema["paths"]["/api/v1/orders"]["post"]
    assert "`retry`" in capture["responses"]["503"]["description"]
    reads = schema["paths"]["/api/v1/channels/{code}/"]["get"]["responses"]["503"]["description"]
    assert "`retry`" not in reads

"""Schemathesis against the live server's OpenAPI schema: every operation, as a storefront (a
channel key) and as staff (a session), with a bounded number of generated examples each. No
response may be a 5xx, and every response must conform to the schema (status code documented,
content type, headers, body).

OMS_FUZZ_MAX_EXAMPLES sets the examples per operation (default 25; both runs take well under two minutes).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.otp import login_verified
from tests.support.services import ROOT

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres, pytest.mark.integration]

MAX_EXAMPLES = os.environ.get("OMS_FUZZ_MAX_EXAMPLES", "25")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def _schemathesis(web, report, *headers: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{web.url}/api/schema/?format=json",
        "--url", web.url, "--checks", CHECKS, "--workers", "2", "--max-examples", MAX_EXAMPLES,
        "--phases", "examples,fuzzing", "--generation-deterministic", "--suppress-health-check", "all",
        "--request-timeout", "30", "--no-color",
    ]  # fmt: skip
    for header in headers:
        cmd += ["-H", header]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    report.write_text(run.stdout + run.stderr)
    return run


def _failures(run: subprocess.CompletedProcess, report) -> str:
    """The FAILURES section (each operation, check, status and a curl line), then the summary."""
    out = run.stdout
    start = out.find("FAILURES")
    return f"full report: {report}\n" + (out[start:] if start >= 0 else out)[-20000:] + run.stderr[-2000:]


@pytest.fixture
def staff_cookie(transactional_db) -> tuple[str, str]:
    user = get_user_model().objects.create_superuser("fuzz-admin", "fuzz@oms.example", secrets.token_hex(8))
    client = login_verified(Client(), user)  # a superuser holds the admin role: second factor too
    csrf = secrets.token_hex(16)  # a 32-character secret: the header and the cookie must match
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", csrf


def test_every_operation_as_a_storefront_channel_key(world, web_factory, tmp_path):
    web = web_factory(workers=2)
    report = tmp_path / "schemathesis-channel.txt"
    run = _schemathesis(web, report, f"Authorization: Api-Key {world.key}")
    assert run.returncode == 0, _failures(run, report)


def test_every_operation_as_staff(world, staff_cookie, web_factory, tmp_path):
    cookie, csrf = staff_cookie
    web = web_factory(workers=2)
    report = tmp_path / "schemathesis-staff.txt"
    run = _schemathesis(web, report, f"Cookie: {cookie}", f"X-CSRFToken: {csrf}")
    assert run.returncode == 0, _failures(run, report)

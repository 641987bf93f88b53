"""`make test` on a machine without Chromium: the browser tests are skipped and announced (header
and closing line), like a missing PostgreSQL or Redis; OMS_REQUIRE_SERVICES=1 fails the run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.browser import SAMPLE_BROWSER_TEST, find_chromium

pytestmark = pytest.mark.integration


def _pytest(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OMS_REQUIRE"))}
    environ.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            SAMPLE_BROWSER_TEST,
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_without_chromium_browser_tests_are_skipped_and_announced(tmp_path):
    run = _pytest(OMS_CHROMIUM=str(tmp_path / "no-such-chromium"))
    out = run.stdout
    assert run.returncode == 0, out[-3000:]
    header = next(line for line in out.splitlines() if line.startswith("oms: Chromium not found"))
    assert "no-such-chromium does not exist" in header and "browser will be SKIPPED" in header
    assert "1 skipped" in out and "oms: 1 test(s) skipped because a service or the browser is missing" in out


def test_without_chromium_and_services_required_the_run_fails(tmp_path):
    run = _pytest(OMS_CHROMIUM=str(tmp_path / "no-such-chromium"), OMS_REQUIRE_SERVICES="1")
    assert run.returncode != 0
    assert "OMS_REQUIRE_SERVICES=1 but" in run.stderr + run.stdout
    assert "no-such-chromium does not exist" in run.stderr + run.stdout


def test_oms_chromium_names_exactly_the_browser_to_use(tmp_path, monkeypatch):
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("OMS_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
    monkeypatch.setenv("OMS_CHROMIUM", str(tmp_path / "absent"))
    assert find_chromium() is None  # no fallback to a system browser: "absent" means absent

"""The CI dependency audit (.ci/audit_deps.py): a vulnerability fails the step, a service that
could not be reached is announced as NOT CHECKED and never reported as a clean pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "audit_deps", Path(__file__).resolve().parents[2] / ".ci" / "audit_deps.py"
)
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)


def test_a_known_vulnerability_fails_the_step_and_names_the_fix():
    report = {
        "dependencies": [
            {
                "name": "django",
                "version": "4.2.0",
                "vulns": [{"id": "PYSEC-2023-100", "fix_versions": ["4.2.2"]}],
            },
            {"name": "celery", "version": "5.4.0", "vulns": []},
        ]
    }
    code, lines = audit.verdict(report)
    assert code == 1
    assert "django 4.2.0: PYSEC-2023-100 (fixed in 4.2.2)" in "\n".join(lines)


def test_nothing_found_passes_with_the_count_checked():
    code, lines = audit.verdict({"dependencies": [{"name": "celery", "version": "5.4.0", "vulns": []}]})
    assert code == 0 and lines == ["pip-audit: 1 pinned packages checked, no known vulnerabilities"]


def test_a_service_that_answered_for_nothing_is_not_checked_and_says_so(monkeypatch):
    report = {
        "dependencies": [{"name": n, "skip_reason": f"Dependency not found on PyPI: {n}"} for n in "ab"]
    }
    code, lines = audit.verdict(report)
    text = "\n".join(lines)
    assert code == 0 and "pip-audit: vulnerability service unreachable, NOT CHECKED" in text
    assert "no known vulnerabilities" not in text
    monkeypatch.setenv("OMS_AUDIT_REQUIRED", "1")
    assert audit.verdict(report)[0] == 2


def test_packages_that_could_not_be_looked_up_are_listed():
    report = {
        "dependencies": [
            {"name": "a", "skip_reason": "Dependency not found on PyPI: a (1.0)"},
            {"name": "b", "version": "2.0", "vulns": []},
        ]
    }
    code, lines = audit.verdict(report)
    assert code == 0 and "1 of 2 packages NOT CHECKED" in lines[0] and "a (1.0)" in lines[1]

"""`make help` lists every target, help and clean included, with the real host and port."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.unit


def _help(*args: str) -> str:
    return subprocess.run(
        ["make", "--no-print-directory", "help", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_help_lists_every_target_including_help_and_clean():
    out = _help()
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    declared = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith(".PHONY:"):
            declared |= set(line.split(":", 1)[1].split())
    assert {"help", "clean", "run", "test", "serve"} <= listed
    assert declared - {"test-fast"} <= listed, declared - listed


def test_make_help_prints_the_real_port_not_the_variable():
    out = _help("PORT=9123", "HOST=0.0.0.0")
    assert "$(" not in out
    assert "gunicorn on 0.0.0.0:9123" in out and "http://0.0.0.0:9123/" in out

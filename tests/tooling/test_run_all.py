"""`make run`'s launcher (scripts/run_all.py) on a bare machine's defaults (SQLite, filesystem
broker, a fresh data dir): SIGTERM stops web, worker and beat quietly; a SIGKILL of the launcher
leaves no child behind."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import send_mail

from tests.support.services import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _env(var_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_", "OMS_", "CELERY_"))
        and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(OMS_VAR_DIR=str(var_dir), PORT=str(port), HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="module")
def migrated_var(tmp_path_factory) -> Path:
    """A migrated SQLite database in a throwaway var dir (the worker's scans read the tables)."""
    var = tmp_path_factory.mktemp("oms-var")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=_env(var, 0),
        check=True,
        timeout=300,
    )
    return var


class Launcher:
    def __init__(self, var: Path):
        self.port = free_port()
        self.log_path = var / f"run-all-{self.port}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "scripts/run_all.py"],
                cwd=ROOT,
                env=_env(var, self.port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the test's own handle on everything, should a check fail
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        return [int(p) for p in re.findall(r"(?:web|worker|beat) pid (\d+)", self.log())]

    def up(self) -> bool:
        text = self.log()
        if "ready." not in text or "beat: Starting" not in text:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=3) as resp:
                return resp.status == 200
        except OSError:
            return False

    def cleanup(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in self.children():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie waiting for its (dead) parent's reaper is gone
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def _group_alive(pgid: int) -> list[int]:
    """Live processes of a process group (the worker's pool processes share the worker's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().split(")")[-1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    found.append(int(entry.name))
    return found


@pytest.mark.worker
def test_sigterm_stops_web_worker_and_beat_quietly_within_the_grace_period(migrated_var):
    launcher = Launcher(migrated_var)
    try:
        assert wait_until(launcher.up, timeout=120), launcher.log()[-4000:]
        children = launcher.children()
        assert len(children) == 3

        started = time.monotonic()
        launcher.proc.send_signal(signal.SIGTERM)
        assert launcher.proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 12  # within the launcher's 10 s grace period

        assert wait_until(lambda: not any(_alive(p) or _group_alive(p) for p in children), timeout=10)
        log = launcher.log()
        assert "run_all: web, worker and beat stopped" in log
        errors = [
            line for line in log.splitlines() if re.search(r"\bERROR\b|Traceback|exited with 'signal", line)
        ]
        assert errors == [], "\n".join(errors)
        assert "did not stop within" not in log  # nothing needed the SIGKILL fallback
    finally:
        launcher.cleanup()


@pytest.mark.worker
def test_sigkill_of_the_launcher_leaves_no_child_behind(migrated_var):
    launcher = Launcher(migrated_var)
    try:
        assert wait_until(launcher.up, timeout=120), launcher.log()[-4000:]
        children = launcher.children()
        assert len(children) == 3

        os.kill(launcher.proc.pid, signal.SIGKILL)
        launcher.proc.wait(timeout=10)

        assert wait_until(lambda: not any(_alive(p) or _group_alive(p) for p in children), timeout=30), [
            (p, _alive(p), _group_alive(p)) for p in children
        ]
    finally:
        launcher.cleanup()


@pytest.mark.unit
def test_demo_mail_goes_to_the_log_at_info(caplog, settings):
    from oms.celery import app

    settings.EMAIL_BACKEND = "oms.kernel.mail.LogEmailBackend"
    mail.outbox = []
    with caplog.at_level(logging.INFO, logger="oms.mail"):
        send_mail("Your order SO-1 is confirmed", "Thank you.", "orders@oms.example", ["ap@customer.example"])
    (record,) = [r for r in caplog.records if r.name == "oms.mail"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith(
        "email to ap@customer.example from orders@oms.example: Your order SO-1"
    )
    assert app.conf.worker_redirect_stdouts_level == "INFO"  # a stray print() is not a WARNING either

"""Run web, worker and beat together in the foreground; Ctrl-C (or SIGTERM) stops all three.

Stopping: each child's main process gets SIGTERM (the Celery worker's warm shutdown: a task in
progress finishes and the worker stops its own pool, so no pool process dies of a signal and
nothing is logged as an error); whatever is still running after the grace period is killed with
its process group, so the terminal always comes back.

If this launcher dies without stopping them (SIGKILL, a crash), the children follow: on Linux each
is started with PR_SET_PDEATHSIG=SIGTERM, so the kernel sends it the same warm-shutdown signal
when its parent dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time

GRACE_SECONDS = float(os.environ.get("OMS_STOP_GRACE_SECONDS", "10"))
PR_SET_PDEATHSIG = 1


def _follow_parent(parent_pid: int):
    """A preexec_fn: the child gets SIGTERM when this launcher dies (Linux), and its own process
    group, so the terminal's Ctrl-C reaches only the launcher, which stops the children in order."""

    libc = (
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if sys.platform == "linux"
        else None
    )

    def preexec() -> None:
        os.setpgid(0, 0)
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def commands(var: str) -> dict[str, list[str]]:
    venv_bin = os.path.dirname(sys.executable)
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    celery = os.path.join(venv_bin, "celery")
    return {
        "web": [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [celery, "-A", "oms", "worker", "-l", "INFO", "-c", "2"],
        "beat": [celery, "-A", "oms", "beat", "-l", "INFO", "-s", os.path.join(var, "celerybeat-schedule")],
    }


def stop(children: dict[str, subprocess.Popen], grace: float) -> None:
    """SIGTERM each child's main process (not its group: the worker stops its own pool), wait
    up to `grace` seconds, then kill what is left with its process group."""
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            print(f"run_all: {name} did not stop within {grace:g} s; killing it", file=sys.stderr, flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Anything a child left behind in its group (a pool process) goes too.
    for proc in children.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:
    var = os.environ.get("OMS_VAR_DIR", "var")
    os.makedirs(var, exist_ok=True)
    # The demo keeps its mail for the staff UI's mail catcher (Documents > Mail catcher) instead
    # of printing it to the log; an EMAIL_BACKEND set in the environment or .env wins.
    dotenv = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".env")
    in_dotenv = False
    if os.path.exists(dotenv):
        with open(dotenv, encoding="utf-8") as fh:
            in_dotenv = any(line.strip().startswith("EMAIL_BACKEND=") for line in fh)
    if not in_dotenv:
        os.environ.setdefault("EMAIL_BACKEND", "documents.mail.CatcherEmailBackend")
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    preexec = _follow_parent(os.getpid())
    children = {
        name: subprocess.Popen(cmd, preexec_fn=preexec)  # noqa: S603 - prctl needs preexec_fn
        for name, cmd in commands(var).items()
    }
    print("run_all: " + ", ".join(f"{name} pid {p.pid}" for name, p in children.items()), flush=True)
    while not stopping and all(p.poll() is None for p in children.values()):
        time.sleep(0.3)
    if not stopping:
        for name, proc in children.items():
            if proc.poll() is not None:
                print(f"run_all: {name} exited with {proc.returncode}; stopping the others", file=sys.stderr)
    stop(children, GRACE_SECONDS)
    if stopping:
        print("run_all: web, worker and beat stopped", flush=True)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())

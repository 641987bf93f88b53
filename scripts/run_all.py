"""Run web, worker and beat together in the foreground; Ctrl-C (or SIGTERM) stops all three.

Each child gets SIGTERM (a warm shutdown: a task in progress finishes), and whatever is still
running after the grace period is killed, so the terminal always comes back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

GRACE_SECONDS = float(os.environ.get("OMS_STOP_GRACE_SECONDS", "10"))


def main() -> int:
    venv_bin = os.path.dirname(sys.executable)
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    var = os.environ.get("OMS_VAR_DIR", "var")
    os.makedirs(var, exist_ok=True)
    commands = {
        "web": [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [os.path.join(venv_bin, "celery"), "-A", "oms", "worker", "-l", "INFO", "-c", "2"],
        "beat": [
            os.path.join(venv_bin, "celery"),
            "-A",
            "oms",
            "beat",
            "-l",
            "INFO",
            "-s",
            os.path.join(var, "celerybeat-schedule"),
        ],
    }
    # Children ignore the terminal's Ctrl-C (own process group); we stop them in order below.
    children = {name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands.items()}  # noqa: S603
    print("run_all: " + ", ".join(f"{name} pid {p.pid}" for name, p in children.items()), flush=True)
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in children.values()):
        time.sleep(0.3)
    for name, proc in children.items():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        elif not stopping:
            print(f"{name} exited with {proc.returncode}; stopping the others", file=sys.stderr)
    deadline = time.monotonic() + GRACE_SECONDS
    for proc in children.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())

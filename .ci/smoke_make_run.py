"""Smoke test of `make run` on bare-machine defaults (SQLite + filesystem broker, fresh data dir):
web, worker and beat come up; /healthz is 200; /admin/ accepts the printed login; /api/schema/
is OpenAPI 3; Ctrl-C (SIGINT to the group) stops all three, quietly: no ERROR line (the worker's
warm shutdown) and no `WARNING celery.redirected` (demo mail is logged at INFO)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp_now(secret_b32: str, step: int = 30, digits: int = 6) -> str:
    """RFC 6238: the code an authenticator app shows for this secret now."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="oms-smoke-")
    log_path = Path(data_dir) / "make-run.log"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(OMS_VAR_DIR=data_dir, PORT=str(port))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            text = log_path.read_text(errors="replace")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=3) as resp:
                    health = json.loads(resp.read())
                    if resp.status == 200 and "ready." in text and "beat: Starting" in text:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                print(text[-5000:])
                raise SystemExit("make run did not come up")
            time.sleep(1)
        print(f"healthz: {health}")
        print("worker ready and beat started (seen in the log)")

        login = re.search(r"Admin login: (\S+) / (\S+)", text)
        assert login, "seed_demo printed no admin login"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/admin/login/?next=/admin/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": login.group(1),
                "password": login.group(2),
                "next": "/admin/",
            }
        ).encode()
        request = urllib.request.Request(
            base + "/admin/login/?next=/admin/", data=form, headers={"Referer": base + "/admin/login/"}
        )
        verify_page = opener.open(request).read().decode()
        # The admin asks for the second factor: the code of the printed TOTP secret.
        secret = re.search(r"Admin TOTP secret: (\S+)", text)
        assert secret, "seed_demo printed no admin TOTP secret"
        assert 'name="otp_token"' in verify_page, "the admin did not ask for the second factor"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', verify_page).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "otp_token": totp_now(secret.group(1)), "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(
            base + "/accounts/2fa/verify/", data=form, headers={"Referer": base + "/accounts/2fa/verify/"}
        )
        admin_page = opener.open(request).read().decode()
        assert "Site administration" in admin_page, "the printed admin login or TOTP secret was refused"
        print(f"admin login {login.group(1)} with its second factor accepted")

        with urllib.request.urlopen(base + "/api/schema/?format=json", timeout=10) as resp:
            schema = json.loads(resp.read())
        assert str(schema.get("openapi", "")).startswith("3."), schema.get("openapi")
        print(f"/api/schema/: OpenAPI {schema['openapi']}, {len(schema.get('paths', {}))} paths")
    finally:
        # What Ctrl-C in the terminal does; make run may already have died (reported above).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise SystemExit("make run did not stop on Ctrl-C") from None
    pids = [
        int(p) for p in re.findall(r"(?:web|worker|beat) pid (\d+)", log_path.read_text(errors="replace"))
    ]
    assert len(pids) == 3, "run_all did not report its three children"
    groups = [proc.pid, *pids]
    deadline = time.monotonic() + 30  # a warm shutdown lets a running task finish
    while time.monotonic() < deadline:
        alive = [g for g in groups if _group_alive(g)]
        if not alive:
            print("Ctrl-C stopped web, worker and beat")
            return _quiet(log_path.read_text(errors="replace"))
        time.sleep(0.5)
    for g in alive:
        subprocess.run(["ps", "-o", "pid,pgid,args", "-g", str(g)], check=False)
    raise SystemExit("processes of make run are still alive 30 s after Ctrl-C")


def _quiet(text: str) -> int:
    noisy = [
        line
        for line in text.splitlines()
        if re.search(r"\bERROR\b|Traceback|exited with 'signal|WARNING \S* ?celery\.redirected", line)
    ]
    if noisy:
        print("\n".join(noisy[:20]))
        raise SystemExit(f"make run logged {len(noisy)} error/redirected-warning line(s)")
    print("the log has no ERROR line and no celery.redirected warning")
    return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


if __name__ == "__main__":
    sys.exit(main())

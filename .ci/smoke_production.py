"""Production smoke: the settings a deployment runs with, end to end.

`collectstatic` with the production storage (whitenoise's compressed manifest), migrations, then
gunicorn with DEBUG=0 on a free port, and the pages a first visitor and a storefront touch: the staff
login page, the admin login, a static file by its hashed name (with a far-future cache header), /healthz
and one authenticated API call. Any of them failing fails CI: a vendored asset that breaks the manifest
turns every page with static files into a 500 under DEBUG=0.

Uses DATABASE_URL / REDIS_URL from the environment (CI's PostgreSQL and Redis), else the bare defaults.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
YEAR = 365 * 24 * 3600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    # As behind the TLS-terminating proxy of a deployment (SECURE_PROXY_SSL_HEADER).
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def check(label: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}")
    if not ok:
        raise SystemExit(f"production smoke failed: {label}")


def main() -> int:
    base = f"http://127.0.0.1:{free_port()}"
    workdir = Path(tempfile.mkdtemp(prefix="oms-prod-smoke-"))
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATIC_ROOT=str(workdir / "static"),
        OMS_VAR_DIR=str(workdir / "var"),
    )
    with own_database(env):
        return smoke(env, base, workdir)


@contextlib.contextmanager
def own_database(env: dict):
    """On PostgreSQL, a fresh database of the smoke's own, dropped afterwards."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield
        return
    import psycopg2  # the app's own driver, from the venv

    parts = urllib.parse.urlsplit(url)
    name = f"oms_prod_smoke_{os.getpid()}"
    admin = psycopg2.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def smoke(env: dict, base: str, workdir: Path) -> int:
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        done = subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True)
        output = (done.stdout + done.stderr).strip()
        detail = output[-3000:] if done.returncode else output.splitlines()[-1] if output else ""
        check(f"manage.py {' '.join(command)}", done.returncode == 0, detail)
    manifest = json.loads((workdir / "static" / "staticfiles.json").read_text())["paths"]
    check("static manifest written", "admin/css/base.css" in manifest, f"{len(manifest)} entries")

    issued = subprocess.run(
        [PY, "manage.py", "shell", "-c", ISSUE_KEY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    check("a channel key issued", issued.returncode == 0, issued.stderr[-2000:])
    raw_key = issued.stdout.strip().splitlines()[-1]

    log_path = workdir / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [GUNICORN, "oms.wsgi:application", "--bind", base.removeprefix("http://"), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                status, _, body = fetch(base + "/healthz")
                break
            if server.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text(errors="replace")[-4000:])
                raise SystemExit("gunicorn did not come up")
            time.sleep(0.5)
        check("/healthz", status == 200, body.decode(errors="replace")[:200])

        status, _, body = fetch(base + "/accounts/login/")
        page = body.decode(errors="replace")
        check("staff login page", status == 200, f"HTTP {status}")
        hashed = re.search(r"(/static/css/app\.[0-9a-f]{12}\.css)", page)
        check("the login page links static files by their hashed names", bool(hashed))

        status, _, body = fetch(base + "/admin/login/")
        check("admin login page", status == 200 and b"csrfmiddlewaretoken" in body, f"HTTP {status}")

        status, headers, body = fetch(base + hashed.group(1), {"Accept-Encoding": "gzip"})
        cache = headers.get("Cache-Control", "")
        max_age = int(re.search(r"max-age=(\d+)", cache).group(1)) if "max-age=" in cache else 0
        check(
            f"{hashed.group(1)} through whitenoise",
            status == 200 and max_age >= YEAR and "immutable" in cache,
            f"HTTP {status}, Cache-Control: {cache}, Content-Encoding: {headers.get('Content-Encoding')}",
        )
        status, headers, _ = fetch(base + "/static/" + manifest["vendor/chart.umd.min.js"])
        check("the vendored chart library by its hashed name", status == 200, f"HTTP {status}")

        status, _, body = fetch(base + "/api/v1/channels/", {"Authorization": f"Api-Key {raw_key}"})
        check("GET /api/v1/channels/ with a channel key", status == 200, body.decode(errors="replace")[:200])
        status, _, body = fetch(base + "/api/v1/channels/")
        check("the API without a key", status in (401, 403) and b'"code"' in body, f"HTTP {status}")
        errors = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if "Traceback" in line or '" 500 ' in line
        ]
        check("no error in the server log", not errors, "\n".join(errors[:5]))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    print("production smoke passed")
    return 0


ISSUE_KEY = """
from partners.models import Channel
from partners.services import channel_key_issue
channel = Channel.objects.create(code="prod-smoke", name="Production smoke", type="web")
print(channel_key_issue(channel=channel, name="production smoke").raw_key)
"""

if __name__ == "__main__":
    sys.exit(main())

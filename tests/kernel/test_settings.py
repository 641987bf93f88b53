"""Configuration: production settings pass Django's deploy checks; bare-machine defaults are safe."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.db import close_old_connections, connection

ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a fresh deployment: none of the test run's service or app settings."""
    prefixes = ("OMS_", "DATABASE_", "REDIS_", "CELERY_", "DJANGO_", "LOG_", "PYTEST_", "PROMETHEUS_")
    keys = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in keys}
    env.update(DJANGO_SETTINGS_MODULE="oms.settings", OMS_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    values = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "oms.example.com"}
    return clean_env(tmp_path, **{**values, **overrides})


_SHOW_DATABASE = (
    "import json, django; django.setup()\n"
    "from django.db import connection\n"
    "sd = connection.settings_dict\n"
    "out = {'engine': sd['ENGINE'], 'name': str(sd['NAME']), 'options': sd.get('OPTIONS', {}),\n"
    "       'conn_health_checks': sd['CONN_HEALTH_CHECKS'], 'conn_max_age': sd['CONN_MAX_AGE'],\n"
    "       'atomic_requests': sd['ATOMIC_REQUESTS']}\n"
    "if 'sqlite' in sd['ENGINE']:\n"
    "    with connection.cursor() as c:\n"
    "        out['journal_mode'] = c.execute('PRAGMA journal_mode').fetchone()[0]\n"
    "        out['busy_timeout'] = c.execute('PRAGMA busy_timeout').fetchone()[0]\n"
    "    out['transaction_mode'] = connection.transaction_mode\n"
    "print(json.dumps(out))\n"
)


# --- production --------------------------------------------------------------------------------


@pytest.mark.unit
def test_production_settings_pass_the_deploy_checks_without_a_warning(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.unit
def test_the_deploy_check_would_catch_a_weak_secret_key(tmp_path):
    # Proves the check above has teeth: the same run with a short key fails on security.W009.
    env = production_env(tmp_path, SECRET_KEY="short")
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.unit
def test_debug_off_without_a_secret_key_refuses_to_start(tmp_path):
    env = clean_env(tmp_path, DEBUG="0", ALLOWED_HOSTS="oms.example.com")
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration error: SECRET_KEY=(not set): must be set when DEBUG is off (production)"
    )


@pytest.mark.unit
def test_production_security_settings_are_on(tmp_path):
    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({k: getattr(s, k) for k in ['DEBUG', 'SESSION_COOKIE_SECURE',\n"
        "  'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'X_FRAME_OPTIONS',\n"
        "  'ALLOWED_HOSTS', 'SECURE_REDIRECT_EXEMPT']}))\n"
    )
    result = run(["-c", code], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["DEBUG"] is False
    assert got["SESSION_COOKIE_SECURE"] and got["CSRF_COOKIE_SECURE"] and got["SECURE_SSL_REDIRECT"]
    assert got["SECURE_HSTS_SECONDS"] >= 31536000
    assert got["X_FRAME_OPTIONS"] == "DENY"
    assert got["ALLOWED_HOSTS"] == ["oms.example.com"]
    # Probes and scrapes come over plain HTTP from inside the cluster.
    assert {"^healthz$", "^metrics$"} <= set(got["SECURE_REDIRECT_EXEMPT"])


# --- databases -----------------------------------------------------------------------------------


@pytest.mark.unit
def test_the_sqlite_default_uses_wal_immediate_transactions_and_a_busy_timeout(tmp_path):
    result = run(["-c", _SHOW_DATABASE], clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["engine"] == "django.db.backends.sqlite3"
    assert Path(db["name"]).parent == tmp_path  # under OMS_VAR_DIR, never the repository's var/
    assert db["journal_mode"] == "wal"
    assert db["transaction_mode"] == "IMMEDIATE"
    assert db["options"]["timeout"] >= 5
    assert db["busy_timeout"] >= 5000
    assert db["atomic_requests"] is False  # services own their transactions


@pytest.mark.unit
def test_postgresql_settings_check_connection_health_and_keep_connections(tmp_path):
    env = clean_env(tmp_path, DATABASE_URL="postgres://oms:secret@db.internal:5432/oms")
    result = run(["-c", _SHOW_DATABASE], env)  # settings only: nothing connects
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["engine"].endswith("postgresql")
    assert db["conn_health_checks"] is True
    assert db["conn_max_age"] > 0
    assert 0 < db["options"]["connect_timeout"] <= 10
    assert db["atomic_requests"] is False


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_by_a_postgres_restart_is_replaced_at_the_next_request():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        old_pid = cursor.fetchone()[0]

    # What a server restart does to every pooled connection: the backend goes away under it.
    sd = connection.settings_dict
    admin = psycopg2.connect(
        dbname=sd["NAME"], user=sd["USER"], password=sd["PASSWORD"], host=sd["HOST"], port=sd["PORT"]
    )
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [old_pid])
            assert cursor.fetchone()[0] is True
    finally:
        admin.close()

    close_old_connections()  # what Django runs at the start of each request (request_started)
    with connection.cursor() as cursor:  # the health check replaced the dead connection
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid

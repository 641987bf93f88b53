"""A wrong setting explains itself: one line naming the variable and its value (password masked)
and a non-zero exit, for manage.py, gunicorn, the Celery worker and beat alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oms.kernel import config
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(cmd: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it: oms.settings, this test's own var dir, only `env` set."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_", "OMS_", "CELERY_"))
        and k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}
    }
    base.update(OMS_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(cmd, cwd=ROOT, env=base, capture_output=True, text=True, timeout=90, check=False)


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], tmp_path, **env)


def _config_lines(run: subprocess.CompletedProcess) -> list[str]:
    return [
        line for line in (run.stdout + run.stderr).splitlines() if line.startswith("configuration error:")
    ]


def _dead_postgres_url() -> str:
    return f"postgres://oms:s3cret-pw@127.0.0.1:{free_port()}/oms"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"DATABASE_URL": "notaurl"},
            "configuration error: DATABASE_URL='notaurl': not a database URL",
        ),
        (
            {"DATABASE_URL": "mysql://oms:s3cret-pw@db/oms"},
            "configuration error: DATABASE_URL='mysql://oms:***@db/oms': unsupported database 'mysql'",
        ),
        (
            {"DEBUG": "0", "ALLOWED_HOSTS": "oms.example.com"},
            "configuration error: SECRET_KEY=(not set): must be set when DEBUG is off (production)",
        ),
        ({"DEBUG": "maybe"}, "configuration error: DEBUG='maybe': not a boolean"),
        (
            {"OMS_STEP_MAX_ATTEMPTS": "three"},
            "configuration error: OMS_STEP_MAX_ATTEMPTS='three': not a valid int",
        ),
        (
            {"REDIS_URL": "http://cache:s3cret-pw@redis:6379"},
            "configuration error: REDIS_URL='http://cache:***@redis:6379': not a broker URL",
        ),
    ],
    ids=["notaurl", "unsupported", "no-production-secret", "bad-bool", "bad-int", "bad-broker"],
)
def test_malformed_setting_is_one_line_and_exit_code(tmp_path, env, expected):
    run = _manage(tmp_path, "migrate", "--noinput", **env)

    assert run.returncode == config.EXIT_CODE
    assert run.stdout == ""
    assert run.stderr.strip().startswith(expected), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr  # one line, no traceback
    assert "s3cret-pw" not in run.stderr


@pytest.mark.integration
def test_unreachable_database_is_one_line_naming_database_url_for_manage_py(tmp_path):
    url = _dead_postgres_url()
    run = _manage(tmp_path, "migrate", "--noinput", DATABASE_URL=url)

    assert run.returncode == config.EXIT_CODE
    assert _config_lines(run) == [
        f"configuration error: DATABASE_URL='{config.mask(url)}': database unreachable "
        + _config_lines(run)[0].split("database unreachable ", 1)[1]
    ]
    assert "oms:***@127.0.0.1" in run.stderr and "s3cret-pw" not in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.integration
def test_gunicorn_with_unreachable_database_stops_with_the_line(tmp_path):
    run = _run(
        [
            str(BIN / "gunicorn"),
            "oms.wsgi:application",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--workers",
            "1",
        ],
        tmp_path,
        DATABASE_URL=_dead_postgres_url(),
    )

    assert run.returncode == 4  # gunicorn's "App failed to load": the master stops, no restart loop
    lines = _config_lines(run)
    assert lines and all("DATABASE_URL='postgres://oms:***@127.0.0.1:" in line for line in lines)
    assert "database unreachable" in lines[0]
    assert "Traceback" not in run.stderr and "s3cret-pw" not in run.stderr


@pytest.mark.integration
def test_gunicorn_with_malformed_database_url_stops_with_the_line(tmp_path):
    run = _run(
        [
            str(BIN / "gunicorn"),
            "oms.wsgi:application",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--workers",
            "1",
        ],
        tmp_path,
        DATABASE_URL="notaurl",
    )

    assert run.returncode == 4
    assert _config_lines(run)[0].startswith("configuration error: DATABASE_URL='notaurl': not a database URL")
    assert "Traceback" not in run.stderr


@pytest.mark.integration
def test_celery_worker_with_unreachable_broker_stops_with_the_line(tmp_path):
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    run = _run(
        [str(BIN / "celery"), "-A", "oms", "worker", "-l", "INFO", "-P", "solo"], tmp_path, REDIS_URL=url
    )

    assert run.returncode == config.EXIT_CODE
    assert _config_lines(run) == [_config_lines(run)[0]]
    assert _config_lines(run)[0].startswith(
        f"configuration error: REDIS_URL='{config.mask(url)}': broker unreachable"
    )
    assert "Traceback" not in run.stderr and "s3cret-pw" not in run.stderr


@pytest.mark.integration
def test_celery_beat_with_unreachable_database_stops_with_the_line(tmp_path):
    run = _run(
        [str(BIN / "celery"), "-A", "oms", "beat", "-l", "INFO", "-s", str(tmp_path / "beat-schedule")],
        tmp_path,
        DATABASE_URL=_dead_postgres_url(),
    )

    assert run.returncode == config.EXIT_CODE
    lines = _config_lines(run)
    assert len(lines) == 1 and "DATABASE_URL='postgres://oms:***@127.0.0.1:" in lines[0]
    assert "database unreachable" in lines[0] and "Traceback" not in run.stderr


@pytest.mark.integration
def test_celery_worker_with_malformed_setting_stops_with_the_line(tmp_path):
    run = _run([str(BIN / "celery"), "-A", "oms", "worker", "-P", "solo"], tmp_path, DATABASE_URL="notaurl")

    assert run.returncode == config.EXIT_CODE
    assert run.stderr.strip().splitlines() == [_config_lines(run)[0]]


@pytest.mark.unit
def test_mask_hides_only_the_password():
    assert config.mask("postgres://oms:pw@db:5432/oms") == "postgres://oms:***@db:5432/oms"
    assert config.mask("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert config.mask("postgres://db/oms") == "postgres://db/oms"
    assert config.mask("notaurl") == "notaurl"


@pytest.mark.unit
def test_database_config_accepts_postgres_and_sqlite():
    assert config.database_config("postgres://u:p@h:5432/oms")["NAME"] == "oms"
    assert config.database_config("sqlite:////tmp/x.sqlite3")["ENGINE"].endswith("sqlite3")
    with pytest.raises(config.ConfigError, match="names no database"):
        config.database_config("postgres://u:p@h:5432")


@pytest.mark.unit
def test_env_names_the_variable_of_a_value_that_does_not_parse(monkeypatch):
    env = config.Env()
    monkeypatch.setenv("OMS_X_SECONDS", "soon")
    with pytest.raises(config.ConfigError) as info:
        env.float("OMS_X_SECONDS", default=1.0)
    assert info.value.line() == ("configuration error: OMS_X_SECONDS='soon': not a valid float")
    monkeypatch.setenv("OMS_X_FLAG", "yes")
    assert env.bool("OMS_X_FLAG", default=False) is True

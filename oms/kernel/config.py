"""Configuration read from the environment, validated once at start-up.

A wrong setting must explain itself in one line that names the variable and its value (with any
password masked), and stop the process with a non-zero exit, whichever process reads it:
`manage.py` commands, gunicorn (`oms/wsgi.py`), the Celery worker and beat (`oms/celery.py`).

- `Env` (used by `oms/settings.py`) turns a malformed value (`OMS_STEP_MAX_ATTEMPTS=abc`,
  `DEBUG=maybe`) into a `ConfigError` instead of a `ValueError` deep in a traceback.
- `database_config` accepts only the URLs the OMS runs on (SQLite, PostgreSQL).
- `check_database` / `check_broker` try the servers once, with short timeouts. They run where a
  process starts (gunicorn's worker loads the WSGI app, Celery's `worker_init`/`beat_init`) and
  after a `manage.py` command failed to connect, never per request.
- `exit_on_error` prints the line and exits with `EXIT_CODE`.

This module imports no app and no model: settings import it before Django is set up.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import environ

# sysexits.h EX_CONFIG: "something was found in an unconfigured or misconfigured state".
EXIT_CODE = 78

SUPPORTED_DATABASES = {
    "sqlite": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "psql": "django.db.backends.postgresql",
}
SUPPORTED_BROKERS = ("redis", "rediss", "filesystem", "memory")
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


class ConfigError(Exception):
    """A setting from the environment that the OMS cannot run with."""

    def __init__(self, variable: str, value: str | None, problem: str):
        self.variable, self.value, self.problem = variable, value, problem
        super().__init__(self.line())

    def line(self) -> str:
        shown = "(not set)" if self.value is None else repr(mask(self.value))
        return f"configuration error: {self.variable}={shown}: {self.problem}"


def mask(value: str) -> str:
    """The value with the password of a URL replaced by ***."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.password:
        return value
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class Env(environ.Env):
    """django-environ, but a value that does not parse names its variable (ConfigError)."""

    def bool(self, var, default=environ.Env.NOTSET):
        raw = os.environ.get(var)
        if raw is not None and raw.strip().lower() not in _TRUE | _FALSE:
            raise ConfigError(var, raw, "not a boolean (use 1/0, true/false, yes/no, on/off)")
        return super().bool(var, default=default)

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except environ.ImproperlyConfigured:
            raise ConfigError(var, None, "must be set") from None
        except (ValueError, TypeError):
            kind = getattr(cast, "__name__", "value") if cast is not None else "value"
            raise ConfigError(var, os.environ.get(var), f"not a valid {kind}") from None


def database_config(url: str, *, variable: str = "DATABASE_URL") -> dict[str, Any]:
    """Django's DATABASES entry for a URL the OMS supports (SQLite or PostgreSQL)."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        raise ConfigError(variable, url, f"not a URL ({exc})") from None
    if not scheme or "://" not in url:
        raise ConfigError(
            variable,
            url,
            "not a database URL (e.g. postgres://user:password@host:5432/oms or sqlite:///path)",
        )
    if scheme not in SUPPORTED_DATABASES:
        raise ConfigError(
            variable, url, f"unsupported database {scheme!r} (the OMS runs on postgres:// or sqlite://)"
        )
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:
        raise ConfigError(variable, url, f"not a valid database URL ({exc})") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ConfigError(variable, url, "names no database (add /<name> after the host)")
    return config


def broker_url(url: str, *, variable: str) -> str:
    """A Celery broker URL the OMS supports (Redis, or the filesystem transport)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SUPPORTED_BROKERS:
        raise ConfigError(
            variable, url, "not a broker URL (e.g. redis://host:6379/0, or unset for no server)"
        )
    return url


def check_database(*, variable: str = "DATABASE_URL", url: str | None = None) -> None:
    """Open (and close) a connection to the default database: ConfigError if it cannot."""
    from django.db import DatabaseError, connections

    conn = connections["default"]
    try:
        conn.ensure_connection()
    except DatabaseError as exc:
        raise ConfigError(
            variable, url or os.environ.get(variable), f"database unreachable ({_first_line(exc)})"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def check_broker(*, broker_url: str, variable: str) -> None:
    """Connect to the Celery broker once (a few seconds at most): ConfigError if it cannot."""
    if not broker_url.startswith(("redis", "rediss")):
        return  # the filesystem transport needs no server
    from kombu import Connection

    try:
        with Connection(
            broker_url, connect_timeout=3, transport_options={"socket_connect_timeout": 3}
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=3)
    except Exception as exc:
        raise ConfigError(variable, broker_url, f"broker unreachable ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def report(error: ConfigError) -> None:
    # The process' real stderr: Celery replaces sys.stderr with a logger once it has started.
    stream = sys.__stderr__ or sys.stderr
    print(error.line(), file=stream, flush=True)


@contextlib.contextmanager
def exit_on_error(code: int = EXIT_CODE) -> Iterator[None]:
    """Turn a ConfigError into its one line on stderr and a SystemExit with `code`."""
    try:
        yield
    except ConfigError as error:
        report(error)
        raise SystemExit(code) from None

"""Reference data: configuration that changes far less often than orders arrive (defaulting and
approval rules, screening lists, channel policies and warehouse rankings), cached per process.

An app registers a name with the models it is built from and a loader (at `AppConfig.ready`; the
kernel imports no app). Every save, delete or many-to-many change of those models bumps the name's
`ReferenceDataVersion` row in the writer's own transaction: version + 1 and a new random token, so
a rolled-back change can never leave a stale cache under a reused number. `get(name)` compares the
process's copy with the row and reloads only when it changed.

The rows of every name are read in one query, at the first `get` of a scope (a web request, a
Celery task, a capture) and remembered until the scope ends: a request that reads five kinds of
reference data costs one query, not five. Outside any scope each `get` reads them again.

Writes that send no signals (`QuerySet.update`, `bulk_create`, raw SQL, a data migration through
historical models) must call `bump(name)` themselves, in the same transaction.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import ReferenceDataVersion

Key = tuple[int, str]


@dataclass
class _Entry:
    loader: Callable[[], Any]
    models: tuple[type[Model], ...]
    # (key, value) in one attribute: a reader without the lock never pairs a key with another value
    loaded: tuple[Key, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Memo:
    versions: dict[str, Key] | None = None


_registry: dict[str, _Entry] = {}
# The versions read in the current scope (None: no scope open, read on every get).
_scope: ContextVar[_Memo | None] = ContextVar("refdata_scope", default=None)


def register(name: str, *, models: Iterable[type[Model]], loader: Callable[[], Any]) -> None:
    """Cache `loader()` under `name`, reloaded after any change to `models`. The loader returns
    immutable facts (tuples, frozensets, frozen dataclasses, read-only mappings): every caller in
    the process shares them. Call from `AppConfig.ready`; registering again replaces the loader."""
    models = tuple(models)
    _registry[name] = _Entry(loader=loader, models=models)
    bump_name = functools.partial(_bump_on_signal, name)
    for model in models:
        uid = f"refdata.{name}.{model._meta.label_lower}"
        post_save.connect(bump_name, sender=model, weak=False, dispatch_uid=f"{uid}.save")
        post_delete.connect(bump_name, sender=model, weak=False, dispatch_uid=f"{uid}.delete")
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            m2m_changed.connect(
                functools.partial(_bump_on_m2m, name),
                sender=through,
                weak=False,
                dispatch_uid=f"refdata.{name}.{through._meta.label_lower}",
            )


def unregister(name: str) -> None:
    entry = _registry.pop(name, None)
    if entry is None:
        return
    for model in entry.models:
        uid = f"refdata.{name}.{model._meta.label_lower}"
        post_save.disconnect(sender=model, dispatch_uid=f"{uid}.save")
        post_delete.disconnect(sender=model, dispatch_uid=f"{uid}.delete")
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            m2m_changed.disconnect(sender=through, dispatch_uid=f"refdata.{name}.{through._meta.label_lower}")


def _bump_on_signal(name: str, sender, **kwargs) -> None:
    bump(name)


def _bump_on_m2m(name: str, sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump(name)


# --- the version rows -------------------------------------------------------------------------


@functools.cache
def _sql() -> tuple[str, str, str]:
    """(read all, bump one, create missing): from the model's names, since every request runs the
    read and the ORM's compilation would cost more than the database's answer."""
    quote, meta = connection.ops.quote_name, ReferenceDataVersion._meta
    table = quote(meta.db_table)
    name, version, token = (quote(meta.get_field(f).column) for f in ("name", "version", "token"))
    read = f"SELECT {name}, {version}, {token} FROM {table}"  # noqa: S608 (model names)
    # One statement whether or not the row exists yet (PostgreSQL and SQLite both upsert).
    bump_sql = (
        f"INSERT INTO {table} ({name}, {version}, {token}) VALUES (%s, 1, %s) "  # noqa: S608
        f"ON CONFLICT ({name}) DO UPDATE SET {version} = {table}.{version} + 1, {token} = EXCLUDED.{token}"
    )
    create = f"INSERT INTO {table} ({name}, {version}, {token}) VALUES %s ON CONFLICT ({name}) DO NOTHING"  # noqa: S608
    return read, bump_sql, create


# Version rows that live elsewhere (an app's own counter, e.g. pricing's rule set version), read
# with the others so that a scope still costs one query: name -> SELECT of (version, token).
_sources: dict[str, str] = {}


def register_version_source(name: str, select_sql: str) -> None:
    """Read `select_sql` (one row: version, token; no parameters) with the versions of every
    scope, as `name`; `version_of(name)` then answers from the scope. Call from AppConfig.ready."""
    _sources[name] = select_sql
    _read_sql.cache_clear()


@functools.cache
def _read_sql() -> str:
    read = _sql()[0]
    for name, select_sql in sorted(_sources.items()):
        quoted = "'" + name.replace("'", "''") + "'"  # a registered constant, not input
        read += f" UNION ALL SELECT {quoted}, v.* FROM ({select_sql}) v"  # noqa: S608
    return read


def version_of(name: str) -> Key | None:
    """A registered source's (version, token) as read by the current scope, or None outside a
    scope (the caller reads its own row then) or when its row does not exist."""
    memo = _scope.get()
    if memo is None:
        return None
    if memo.versions is None:
        memo.versions = versions_read()
    return memo.versions.get(name)


def scope_forget() -> None:
    """The current scope re-reads the versions at its next get (after a write it made itself)."""
    memo = _scope.get()
    if memo is not None:
        memo.versions = None


def versions_read() -> dict[str, Key]:
    """Every name's (version, token), in one query. A registered name without a row gets one
    (once per database): a missing row could not tell a cache loaded before a table was emptied
    without signals (a test flush) from one loaded after."""
    _, _, create = _sql()
    read = _read_sql()
    with connection.cursor() as cursor:
        cursor.execute(read)
        found = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        missing = [name for name in _registry if name not in found and name not in _sources]
        if missing:
            values = ", ".join(["(%s, 1, %s)"] * len(missing))
            params = [p for name in missing for p in (name, uuid.uuid4().hex)]
            cursor.execute(create % values, params)
            cursor.execute(read)
            found = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    return found


def bump(name: str) -> None:
    """Mark `name` changed: +1 and a new token, in the caller's transaction (one statement).
    Call it after writes that send no signals; every process reloads on its next `get`."""
    _, bump_sql, _ = _sql()
    with connection.cursor() as cursor:
        cursor.execute(bump_sql, [name, uuid.uuid4().hex])
    memo = _scope.get()
    if memo is not None:
        memo.versions = None  # this scope's next get sees its own change


# --- reads ------------------------------------------------------------------------------------


def _current(name: str) -> Key:
    memo = _scope.get()
    if memo is None:
        return versions_read().get(name, (0, ""))
    if memo.versions is None:
        memo.versions = versions_read()
    return memo.versions.get(name, (0, ""))


def get(name: str) -> Any:
    """The facts registered under `name`, as of the version current in this scope."""
    entry = _registry[name]
    key = _current(name)
    loaded = entry.loaded
    if loaded is not None and loaded[0] == key:
        return loaded[1]
    with entry.lock:
        loaded = entry.loaded
        if loaded is None or loaded[0] != key:
            # Loaded after the version was read: the facts are at least as new as the key, so a
            # change committed in between costs a reload on the next read, never a stale one.
            loaded = entry.loaded = (key, entry.loader())
        return loaded[1]


# --- scopes -----------------------------------------------------------------------------------


def scope_begin() -> Token | None:
    """Open a scope unless one is open (a capture inside a request shares the request's)."""
    if _scope.get() is not None:
        return None
    return _scope.set(_Memo())


def scope_end(token: Token | None) -> None:
    if token is not None:
        _scope.reset(token)


@contextlib.contextmanager
def scope() -> Iterator[None]:
    token = scope_begin()
    try:
        yield
    finally:
        scope_end(token)


def cache_clear() -> None:
    """Forget every loaded value in this process (the next get reloads)."""
    for entry in _registry.values():
        with entry.lock:
            entry.loaded = None

"""The correlation id of the work in progress: a request id, or the source order id.

It travels from the web request into outbox rows, task headers and every log line, so one order
can be followed through web, worker and webhook.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")


def get_correlation_id() -> str:
    return _correlation_id.get()


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def set_correlation_id(value: str) -> object:
    return _correlation_id.set(value)


def reset_correlation_id(token: object) -> None:
    _correlation_id.reset(token)  # type: ignore[arg-type]


@contextlib.contextmanager
def correlation(value: str | None) -> Iterator[str]:
    token = _correlation_id.set(value or get_correlation_id() or new_correlation_id())
    try:
        yield _correlation_id.get()
    finally:
        _correlation_id.reset(token)

"""Carry the correlation id through task headers and into worker log lines; give each task its
own reference-data scope."""

from __future__ import annotations

from celery import signals

from . import refcache
from .context import get_correlation_id, new_correlation_id, reset_correlation_id, set_correlation_id

HEADER = "oms_correlation_id"
_tokens: dict[str, object] = {}
_refdata_scopes: dict[str, object] = {}


@signals.before_task_publish.connect
def _stamp_correlation_id(headers=None, **kwargs):
    if headers is not None and not headers.get(HEADER):
        headers[HEADER] = get_correlation_id() or new_correlation_id()


@signals.task_prerun.connect
def _enter_correlation(task_id=None, task=None, **kwargs):
    # Not Celery's own `correlation_id` (that is the task id): our header has its own name.
    cid = getattr(task.request, HEADER, None) or (task.request.headers or {}).get(HEADER)
    _tokens[task_id] = set_correlation_id(cid or task_id or new_correlation_id())
    # A task reads the reference-data versions once, like a request.
    _refdata_scopes[task_id] = refcache.scope_begin()


@signals.task_postrun.connect
def _leave_correlation(task_id=None, **kwargs):
    refcache.scope_end(_refdata_scopes.pop(task_id, None))
    token = _tokens.pop(task_id, None)
    if token is not None:
        reset_correlation_id(token)

"""Celery entry points for inventory: one service call each."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .services import reorder_scan as _reorder_scan


@shared_task(
    acks_late=True,
    task_reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def reorder_scan() -> dict:
    """Periodic (beat): create or top up draft POs for rules at or below their reorder point.
    Idempotent: a re-run (or a redelivered message) computes the same needs and changes nothing."""
    result = _reorder_scan()
    return {
        "purchase_orders_created": result.purchase_orders_created,
        "lines_created": result.lines_created,
        "lines_topped_up": result.lines_topped_up,
    }

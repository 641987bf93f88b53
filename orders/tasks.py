"""Celery entry points for orders: one service call each."""

from __future__ import annotations

from celery import shared_task

from .services.idempotency import idempotency_keys_expire


@shared_task(acks_late=True, ignore_result=True)
def idempotency_expire() -> int:
    return idempotency_keys_expire()

"""Celery entry points: one service call each, idempotent (a re-run settles or sends nothing twice)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=0)
def payments_reconcile() -> int:
    from .services.payments import payments_reconcile as run

    return run()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=0)
def payments_expire() -> int:
    from .services.payments import payments_expire as run

    return run()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=0)
def dunning_run() -> int:
    from .services.receivables import dunning_run as run

    return run()

"""Celery entry points: ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from .services import step_execute, steps_sweep


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None)
def step_run(self, step_instance_id: int) -> str:
    """Run one process step. Idempotent: a redelivered or duplicated message finds the step
    done (or not due) and changes nothing; failures come back with their backoff."""
    result = step_execute(step_instance_id=step_instance_id)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def fulfillment_sweep() -> int:
    """Periodic: wake due PAUSE/WAIT steps, resume released holds, re-send lost step tasks."""
    return len(steps_sweep().step_ids)


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def jeopardy_scan(full: bool | None = None) -> int:
    """Periodic: recompute plans' expected ends and jeopardy, raise and resolve alerts. Every
    OMS_JEOPARDY_FULL_SCAN_EVERY-th run (by scan count) re-reads every open process."""
    from django.conf import settings

    from .models import JeopardyScan
    from .services.jeopardy import jeopardy_scan as scan

    if full is None:
        every = max(settings.OMS_JEOPARDY_FULL_SCAN_EVERY, 1)
        full = (JeopardyScan.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) % every == 0
    return scan(full=full).processes_changed


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def promise_rebroker() -> int:
    """The scheduled re-brokering of every parked line (receipts also trigger it per product)."""
    from .promising.rebroker import parked_rebroker

    return parked_rebroker().lines

import os

from celery import shared_task

from oms.kernel.context import get_correlation_id

from .models import Effect


@shared_task(acks_late=True)
def record_effect(marker: str) -> int:
    """Proves which process ran a task: the row carries the worker's pid."""
    return Effect.objects.create(
        subscriber="task",
        event_id=0,
        topic=marker,
        aggregate_id=str(os.getpid()),
        correlation_id=get_correlation_id(),
    ).pk

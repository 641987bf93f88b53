from __future__ import annotations

from celery import shared_task

from . import events


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def outbox_relay() -> int:
    """Drain the outbox now (kicked after a commit that published)."""
    events.kick_pending_clear()  # before claiming: a commit after this point kicks again
    return events.relay_run().delivered


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def outbox_sweep() -> int:
    """Periodic: deliver what a lost kick or a backoff left behind."""
    return events.relay_run().delivered


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def outbox_prune() -> int:
    """Periodic: forget events every subscriber has handled, after the retention period."""
    return events.outbox_prune()


@shared_task(acks_late=True)
def ping() -> str:
    return "pong"


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def access_log_prune() -> int:
    """Periodic: forget access-log rows older than OMS_ACCESS_LOG_RETENTION_DAYS."""
    from .accesslog import access_log_prune as prune

    return prune()

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def webhook_send(delivery_id: int) -> None:
    services.webhook_deliver(delivery_id=delivery_id)


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def webhook_sweep() -> int:
    """Periodic: send deliveries whose kick was lost or whose backoff is over."""
    ids = services.webhook_due_ids()
    for delivery_id in ids:
        services.webhook_deliver(delivery_id=delivery_id)
    return len(ids)

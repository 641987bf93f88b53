"""Celery entry points: ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def price_quote_task(quote_id: int) -> dict:
    """Price a stored quote with the rules current in this worker's process; returns its status."""
    quote = services.price_quote_run(quote_id=quote_id)
    return {"quote_id": quote.pk, "status": quote.status, "ruleset_version": quote.ruleset_version}

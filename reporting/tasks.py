"""Celery entry points of reporting: one service call each."""

from __future__ import annotations

from celery import shared_task

from .reports.rollups import facts_catch_up, fx_recheck


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def rollups_catch_up() -> int:
    """Periodic: refresh the sales facts of orders whose audit trail grew since the last run,
    then those of the days whose exchange rate changed since they were converted."""
    return facts_catch_up() + fx_recheck()


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def scheduled_reports_send() -> int:
    """Periodic: mail the scheduled reports that are due today."""
    from .reports.mailing import scheduled_reports_send_due

    return scheduled_reports_send_due()

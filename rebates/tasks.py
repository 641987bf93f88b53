"""Celery entry points of the rebates app (declared in oms/celery.py `_beat_schedule()`)."""

from __future__ import annotations

from celery import shared_task

from .services import accruals, claims, programs


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def rebates_nightly() -> dict[str, int]:
    """Nightly: expire ended programs, accrue price drops whose date has come, re-rate the
    tiered programs' periods (adjustment accruals). Each step is idempotent."""
    expired = programs.programs_expire_due()
    drops = accruals.price_drops_accrue_due()
    adjustments = accruals.programs_rerate()
    return {"expired": expired, "price_drops": drops, "adjustments": len(adjustments)}


@shared_task(acks_late=True, ignore_result=True, max_retries=0)
def claims_generate_due() -> int:
    """Periodic: claim every program's unclaimed accruals, per supplier or customer and currency.
    Idempotent: an accrual is claimed once (a second run finds nothing)."""
    return len(claims.claims_generate())

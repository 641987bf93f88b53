"""The Celery application: workers run fulfillment steps and the outbox relay; beat runs scans."""

from __future__ import annotations

import os
import sys

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init, worker_init

from oms.kernel import config

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    result_expires=3600,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=300,
    task_soft_time_limit=240,
    # A broker outage must not hang a publisher: fail fast, the outbox sweep delivers later.
    broker_connection_timeout=2,
    broker_connection_retry_on_startup=True,
    task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
    worker_hijack_root_logger=False,
    # Whatever a task prints is information, not a warning (`celery.redirected`).
    worker_redirect_stdouts_level="INFO",
    worker_send_task_events=False,
)
app.autodiscover_tasks()

if os.path.basename(sys.argv[0]) == "celery":
    # `celery -A oms ...`: read the settings now, so a malformed variable is one line and an exit,
    # not a traceback from deep inside Celery. (Other processes read them through Django.)
    from django.conf import settings as _settings

    with config.exit_on_error():
        _settings.INSTALLED_APPS  # noqa: B018


@worker_init.connect
@beat_init.connect
def _check_services(**kwargs):
    """A worker or beat that cannot reach its database or broker says which setting, and stops
    (instead of retrying the connection forever)."""
    from django.conf import settings

    broker_variable = "CELERY_BROKER_URL" if os.environ.get("CELERY_BROKER_URL") else "REDIS_URL"
    with config.exit_on_error():
        config.check_broker(broker_url=settings.CELERY_BROKER_URL, variable=broker_variable)
        config.check_database()


def _beat_schedule() -> dict:
    """Periodic work, declared once, here. Each entry names a task that is a set-based scan."""
    from django.conf import settings

    return {
        "outbox-sweep": {
            "task": "oms.kernel.tasks.outbox_sweep",
            "schedule": settings.OMS_OUTBOX_SWEEP_SECONDS,
            "options": {"expires": max(settings.OMS_OUTBOX_SWEEP_SECONDS * 3, 5)},
        },
        "outbox-prune": {
            "task": "oms.kernel.tasks.outbox_prune",
            "schedule": 3600.0,
            "options": {"expires": 3000},
        },
        "idempotency-expire": {
            "task": "orders.tasks.idempotency_expire",
            "schedule": 3600.0,
            "options": {"expires": 3000},
        },
        "inventory-reorder-scan": {
            "task": "inventory.tasks.reorder_scan",
            "schedule": settings.OMS_REORDER_SCAN_MINUTES * 60,
            "options": {"expires": settings.OMS_REORDER_SCAN_MINUTES * 60},
        },
        "fulfillment-promise-rebroker": {
            "task": "fulfillment.tasks.promise_rebroker",
            "schedule": 900.0,
            "options": {"expires": 900},
        },
        "fulfillment-sweep": {
            "task": "fulfillment.tasks.fulfillment_sweep",
            "schedule": settings.OMS_STEP_SWEEP_SECONDS,
            "options": {"expires": max(settings.OMS_STEP_SWEEP_SECONDS * 3, 5)},
        },
        "fulfillment-jeopardy-scan": {
            "task": "fulfillment.tasks.jeopardy_scan",
            "schedule": settings.OMS_JEOPARDY_SCAN_MINUTES * 60,
            "options": {"expires": settings.OMS_JEOPARDY_SCAN_MINUTES * 60},
        },
        "access-log-prune": {
            "task": "oms.kernel.tasks.access_log_prune",
            "schedule": 3600.0,
            "options": {"expires": 3000},
        },
        "reports-catch-up": {
            "task": "reporting.tasks.rollups_catch_up",
            "schedule": settings.OMS_REPORTS_CATCH_UP_SECONDS,
            "options": {"expires": settings.OMS_REPORTS_CATCH_UP_SECONDS},
        },
        "reports-mailing": {
            "task": "reporting.tasks.scheduled_reports_send",
            "schedule": 900.0,
            "options": {"expires": 900},
        },
        "documents-mail-sweep": {
            "task": "documents.tasks.mail_sweep",
            "schedule": 30.0,
            "options": {"expires": 90},
        },
        "documents-purge": {
            "task": "documents.tasks.documents_purge",
            "schedule": 3600.0,
            "options": {"expires": 3000},
        },
        "webhook-sweep": {
            "task": "partners.tasks.webhook_sweep",
            "schedule": 30.0,
            "options": {"expires": 90},
        },
        "rebates-nightly": {
            # Expire ended programs, accrue due price drops, re-rate tiered periods (adjustments).
            "task": "rebates.tasks.rebates_nightly",
            "schedule": crontab(hour=settings.OMS_REBATES_NIGHTLY_HOUR, minute=15),
            "options": {"expires": 3 * 3600},
        },
        "payments-reconcile": {
            # Operations a provider never answered (timeout, lost reply): ask again with the same key.
            "task": "billing.tasks.payments_reconcile",
            "schedule": settings.OMS_PAYMENT_RECONCILE_SECONDS,
            "options": {"expires": settings.OMS_PAYMENT_RECONCILE_SECONDS},
        },
        "payments-expire": {
            "task": "billing.tasks.payments_expire",
            "schedule": 3600.0,
            "options": {"expires": 3000},
        },
        "dunning-run": {
            "task": "billing.tasks.dunning_run",
            "schedule": crontab(hour=settings.OMS_DUNNING_HOUR, minute=30),
            "options": {"expires": 3 * 3600},
        },
        "rebates-claims-generate": {
            # Claims for every program's unclaimed accruals (per supplier or customer, currency).
            "task": "rebates.tasks.claims_generate_due",
            "schedule": settings.OMS_REBATE_CLAIM_GENERATION_HOURS * 3600,
            "options": {"expires": 3600},
        },
    }


@app.on_after_finalize.connect
def _install_beat_schedule(sender, **kwargs):
    sender.conf.beat_schedule = _beat_schedule()

from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .middleware import database_unavailable_response
from .security import metrics_token_ok

log = logging.getLogger(__name__)


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__


def check_broker(url: str | None = None) -> tuple[bool, str]:
    """Open one connection to the broker at `url` (default: the Celery app's own).

    A probe must answer within the load balancer's timeout: one retry, no back-off sleep.
    """
    from celery import current_app

    try:
        with current_app.connection_for_write(url) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=2
            )
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__


@never_cache
@require_GET
def healthz(request):
    started = time.monotonic()
    db_ok, db_detail = check_database()
    # Read at request time (not import time), so the probe checks the broker the settings name.
    broker_ok, broker_detail = check_broker(settings.CELERY_BROKER_URL)
    ok = db_ok and broker_ok
    body = {"status": "ok" if ok else "unavailable"}
    # A stranger learns up or down; which dependency failed (and why) is for the monitoring that
    # holds the metrics token.
    if metrics_token_ok(request):
        body.update(
            database=db_detail,
            broker=broker_detail,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )
    return JsonResponse(body, status=200 if ok else 503)


def server_error(request):
    """`handler500`: a database that went away mid-request is a 503 with Retry-After, not a 500.

    Django calls this inside its `except` block, so the exception is still `sys.exc_info()`.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.error("database unavailable: %s", exc)
        return database_unavailable_response()
    return defaults.server_error(request)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links: send them to the icon in static files
    (its hashed name in production), cached for a day."""
    response = HttpResponseRedirect(static("img/favicon.ico"))
    patch_cache_control(response, public=True, max_age=86400)
    return response

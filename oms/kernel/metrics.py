"""Prometheus figures beyond django-prometheus' request metrics.

Task outcomes are counted in the worker; with PROMETHEUS_MULTIPROC_DIR set (as `make run` and the
compose file do) web and workers on one host share the counters, so /metrics shows them. The
outbox backlog is read from the database at scrape time (two indexed counts).
"""

from __future__ import annotations

import contextlib
import os

from celery import signals
from prometheus_client import Counter
from prometheus_client.core import REGISTRY, GaugeMetricFamily

TASK_OUTCOMES = Counter("oms_celery_tasks_total", "Celery task outcomes", ["task", "outcome"])


@signals.task_success.connect
def _task_succeeded(sender=None, **kwargs):
    TASK_OUTCOMES.labels(task=getattr(sender, "name", "?"), outcome="success").inc()


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs):
    TASK_OUTCOMES.labels(task=getattr(sender, "name", "?"), outcome="failure").inc()


@signals.task_retry.connect
def _task_retried(sender=None, **kwargs):
    TASK_OUTCOMES.labels(task=getattr(sender, "name", "?"), outcome="retry").inc()


class OutboxCollector:
    def describe(self):
        # Declared without querying, so registering at import time touches no database.
        return [
            GaugeMetricFamily("oms_outbox_deliveries", "Outbox deliveries not yet done", labels=["status"])
        ]

    def collect(self):
        from django.db import DatabaseError

        from .events import outbox_backlog

        try:
            backlog = outbox_backlog()
        except DatabaseError:
            return
        g = GaugeMetricFamily("oms_outbox_deliveries", "Outbox deliveries not yet done", labels=["status"])
        g.add_metric(["pending"], backlog["pending"])
        g.add_metric(["dead"], backlog["dead"])
        yield g


_collector = OutboxCollector()
with contextlib.suppress(ValueError):  # already registered (module re-imported)
    REGISTRY.register(_collector)


def metrics_view(request):
    """GET /metrics. With PROMETHEUS_MULTIPROC_DIR, counters from every web and worker process on
    this host are merged (task outcomes are counted in workers), plus the outbox gauges.
    Only for `Authorization: Bearer <OMS_METRICS_TOKEN>`: anyone else gets 401."""
    from django.http import HttpResponse
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from .security import metrics_token_ok

    if not metrics_token_ok(request):
        response = HttpResponse("Unauthorized: send the metrics bearer token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(_collector)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

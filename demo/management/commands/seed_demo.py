"""`manage.py seed_demo`: believable, deterministic demo data, safe to run again (demo/seed/)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from demo.seed import seed_all
from demo.seed.base import DEFAULT_PASSWORD, Context


class Command(BaseCommand):
    help = (
        "Create deterministic demo data: channels with API keys, catalog, customers, stock, pricing, "
        "warehouse rankings, reorder rules, users, and a month of orders in every state."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=os.environ.get("OMS_DEMO_PASSWORD", DEFAULT_PASSWORD),
            help="Password for the demo users (default: $OMS_DEMO_PASSWORD or oms-demo-2026).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = Context(out=self.stdout, style=self.style, password=options["password"])
        with _quiet(QUIET_LOGGERS), transaction.atomic():
            seed_all(ctx)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))


# The demo runs the workers' services in this process: their per-row log lines (a confirmation
# email per order, the failed step the demo sets up on purpose) would bury the summary.
QUIET_LOGGERS = ("oms.mail", "fulfillment", "partners", "oms.kernel.events", "inventory", "orders", "kombu")


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)

"""Rebuild the reports' sales facts from the orders (after a restore, a cost change, a bug fix)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from reporting.reports.rollups import facts_rebuild


class Command(BaseCommand):
    help = "Rebuild every sales fact and rollup the reports read from the current order revisions."

    def handle(self, *args, **options) -> None:
        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\rstep {done}/{total} (facts, a rollup per dimension, totals)")
            sys.stderr.flush()

        written = facts_rebuild(progress=progress)
        sys.stderr.write("\n")
        self.stdout.write(f"{written} sales facts written.")

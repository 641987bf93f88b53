"""Verify that every position's on-hand equals the sum of its movements (one set-based query)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from inventory.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Check on-hand == sum of stock movements for every position; exit 1 on any mismatch."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for pk, on_hand, ledger in mismatches:
            self.stdout.write(f"position {pk}: on-hand {on_hand} != ledger {ledger}")
        self.stdout.write(f"{len(mismatches)} mismatches")
        if mismatches:
            sys.exit(1)

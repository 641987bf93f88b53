"""`manage.py import_orders FILE --channel CODE`: legacy orders (CSV or JSON) through the capture
pipeline, with a per-row report and a progress bar (see orders/importing.py for the format)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oms.kernel.exceptions import ValidationFailed
from partners.models import Channel

from ...importing import orders_import, parse_orders


class Command(BaseCommand):
    help = "Import legacy orders (CSV or JSON) through the order capture pipeline."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--channel", default="import", help="The channel the orders come from")
        parser.add_argument("--report", help="Write the per-row report (JSON lines) here")

    def handle(self, *args, file: str, channel: str, report: str | None = None, **options):
        path = Path(file)
        if not path.exists():
            raise CommandError(f"No file {file}")
        source = Channel.objects.filter(code=channel).first()
        if source is None:
            raise CommandError(f"No channel '{channel}'")
        try:
            bodies = parse_orders(text=path.read_text(encoding="utf-8"), filename=path.name)
        except (ValidationFailed, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        results = orders_import(channel=source, bodies=bodies, progress=self._progress)
        accepted = sum(r["result"] == "accepted" for r in results)
        lines = [json.dumps(r) for r in results]
        if report:
            Path(report).write_text("\n".join(lines) + "\n")
        else:
            for line in lines:
                self.stdout.write(line)
        self.stdout.write(f"{accepted} accepted, {len(results) - accepted} not imported, {len(results)} rows")

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

"""`manage.py import_orders FILE --channel CODE`: legacy orders (CSV or JSON) through the same
pipeline as the API, one transaction per order, with a per-row report and a progress bar.

A re-import creates nothing twice: an order already captured at that revision is reported as
`already imported` (the (channel, source order id, revision) uniqueness decides).

CSV: one row per line, columns source_order_id, revision, account_number, email, name, currency,
customer_po, sku, quantity, uom, unit_price, source_line_id, ship_name, ship_line1, ship_city,
ship_region, ship_postcode, ship_country. JSON: a list of order bodies as POST /orders takes them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import OrderedDict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from oms.kernel.exceptions import DomainError
from partners.models import Channel

from ...actors import Actor
from ...api.serializers import OrderCreateInputSerializer
from ...models import SalesOrder
from ...services import order_submit


def _csv_orders(path: Path) -> list[dict]:
    orders: OrderedDict[tuple[str, str], dict] = OrderedDict()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            key = (row.get("source_order_id", ""), row.get("revision") or "1")
            body = orders.setdefault(
                key,
                {
                    "source_order_id": key[0],
                    "revision": int(key[1]) if key[1].isdigit() else key[1],
                    "customer": {
                        k: row[c]
                        for k, c in (
                            ("account_number", "account_number"),
                            ("email", "email"),
                            ("name", "name"),
                        )
                        if row.get(c)
                    },
                    "currency": row.get("currency", ""),
                    "customer_po": row.get("customer_po", ""),
                    "lines": [],
                },
            )
            ship = {k: row[f"ship_{k}"] for k in ("name", "line1", "city", "region", "postcode", "country")
                    if row.get(f"ship_{k}")}  # fmt: skip
            if ship:
                body["ship_to"] = ship
            line = {
                "source_line_id": row.get("source_line_id") or str(len(body["lines"]) + 1),
                "sku": row.get("sku", ""),
                "quantity": row.get("quantity", ""),
            }
            for opt in ("uom", "unit_price"):
                if row.get(opt):
                    line[opt] = row[opt]
            body["lines"].append(line)
    return list(orders.values())


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
            bodies = json.loads(path.read_text()) if path.suffix.lower() == ".json" else _csv_orders(path)
        except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        actor = Actor.for_channel(source)
        results = []
        total = len(bodies)
        for i, body in enumerate(bodies, start=1):
            results.append(self._one(source, actor, i, body))
            self._progress(i, total)
        accepted = sum(r["result"] == "accepted" for r in results)
        lines = [json.dumps(r) for r in results]
        if report:
            Path(report).write_text("\n".join(lines) + "\n")
        else:
            for line in lines:
                self.stdout.write(line)
        self.stdout.write(f"{accepted} accepted, {total - accepted} not imported, {total} rows")
        return None

    def _one(self, channel: Channel, actor: Actor, row: int, body) -> dict:
        ref = body.get("source_order_id", "") if isinstance(body, dict) else ""
        serializer = OrderCreateInputSerializer(data=body)
        if not serializer.is_valid():
            return {"row": row, "source_order_id": ref, "result": "rejected", "errors": serializer.errors}
        data = serializer.to_order_input()
        existing = SalesOrder.objects.filter(
            channel=channel, source_order_id=data.source_order_id, revision=data.revision
        ).first()
        if existing is not None:
            return {
                "row": row,
                "source_order_id": ref,
                "result": "already imported",
                "number": existing.number,
            }
        try:
            result = order_submit(channel=channel, actor=actor, data=data)
        except DomainError as exc:
            return {"row": row, "source_order_id": ref, "result": "rejected", "code": exc.code,
                    "message": exc.message, "errors": exc.fields}  # fmt: skip
        return {"row": row, "source_order_id": ref, "result": "accepted", "number": result.order.number,
                "status": result.order.status}  # fmt: skip

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

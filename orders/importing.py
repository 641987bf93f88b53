"""Bulk import of legacy orders (CSV or JSON): each order through the capture pipeline in its own
transaction, with a per-row result. Used by `manage.py import_orders` and the admin upload.

A re-import creates nothing twice: an order already captured at that revision is reported as
`already imported` (the (channel, source order id, revision) uniqueness decides).

CSV: one row per line, columns source_order_id, revision, account_number, email, name, currency,
customer_po, sku, quantity, uom, unit_price, source_line_id, ship_name, ship_line1, ship_city,
ship_region, ship_postcode, ship_country. JSON: a list of order bodies as POST /orders takes them.
"""

from __future__ import annotations

import csv
import io
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from oms.kernel.exceptions import DomainError, ValidationFailed
from partners.models import Channel

from .actors import Actor
from .api.serializers import OrderCreateInputSerializer
from .models import SalesOrder
from .services import order_submit


def _csv_orders(text: str) -> list[dict]:
    orders: OrderedDict[tuple[str, str], dict] = OrderedDict()
    for row in csv.DictReader(io.StringIO(text)):
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


def parse_orders(*, text: str, filename: str) -> list[Any]:
    """The file's orders as request bodies; JSON by extension (or a leading bracket), else CSV."""
    text = text.lstrip("\ufeff")
    try:
        if filename.lower().endswith(".json") or text.lstrip().startswith("["):
            bodies = json.loads(text)
            if not isinstance(bodies, list):
                raise ValidationFailed("A JSON import is a list of orders.")
            return bodies
        return _csv_orders(text)
    except (json.JSONDecodeError, csv.Error) as exc:
        raise ValidationFailed(f"The file cannot be read: {exc}") from exc


def _import_one(channel: Channel, actor: Actor, row: int, body: Any) -> dict[str, Any]:
    ref = body.get("source_order_id", "") if isinstance(body, dict) else ""
    serializer = OrderCreateInputSerializer(data=body)
    if not serializer.is_valid():
        return {"row": row, "source_order_id": ref, "result": "rejected", "errors": serializer.errors}
    data = serializer.to_order_input()
    existing = SalesOrder.objects.filter(
        channel=channel, source_order_id=data.source_order_id, revision=data.revision
    ).first()
    if existing is not None:
        return {"row": row, "source_order_id": ref, "result": "already imported", "number": existing.number}
    try:
        result = order_submit(channel=channel, actor=actor, data=data)
    except DomainError as exc:
        return {"row": row, "source_order_id": ref, "result": "rejected", "code": exc.code,
                "message": exc.message, "errors": exc.fields}  # fmt: skip
    return {"row": row, "source_order_id": ref, "result": "accepted", "number": result.order.number,
            "status": result.order.status}  # fmt: skip


def orders_import(
    *, channel: Channel, bodies: list[Any], actor: Actor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Import each order in its own transaction (one bad order does not stop the file)."""
    actor = actor or Actor.for_channel(channel)
    results = []
    for i, body in enumerate(bodies, start=1):
        results.append(_import_one(channel, actor, i, body))
        if progress:
            progress(i, len(bodies))
    return results

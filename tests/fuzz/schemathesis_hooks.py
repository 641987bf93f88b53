"""Schemathesis hooks for tests/fuzz/test_api_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Schema-valid order captures name the fuzz world's catalogue: a random SKU or account number is
refused (400 `unknown_sku`), so without this no generated order would ever be captured and the
stateful phase could not follow the schema's links from a new order to its holds, cancel and
fulfillment. Only positive cases of `POST /api/v1/orders` are touched, and they stay valid
against the schema; negative cases go out as generated. Each positive capture also gets its own
Idempotency-Key (the generator repeats fixed values, and a key reused with another body is, as
documented, a 422).
"""

from __future__ import annotations

import json
import os
import uuid

import schemathesis

WORLD = json.loads(os.environ.get("OMS_FUZZ_WORLD", "{}"))
ADDRESS = {"name": "Ana Lima", "line1": "1 Main St", "city": "Newark", "region": "NJ", "postcode": "07102",
           "country": "US"}  # fmt: skip


def _is_positive_capture(case) -> bool:
    meta = case.meta
    return (
        meta is not None
        and meta.generation.mode.is_positive
        and case.operation.method.upper() == "POST"
        and case.operation.path.endswith("/orders")
        and isinstance(case.body, dict)
    )


@schemathesis.hook
def map_case(ctx, case):
    if not WORLD or not _is_positive_capture(case):
        return case
    body = dict(case.body)
    skus = WORLD["skus"]
    body["customer"] = {"account_number": WORLD["account"]}
    body["currency"] = "USD"
    if "channel" in body:
        body["channel"] = WORLD["channel"]
    for key in ("bill_to", "ship_to"):
        if key in body:
            body[key] = dict(ADDRESS)
    for key in ("ship_method", "requested_delivery_date", "coupons", "demand_class"):
        body.pop(key, None)
    lines = []
    for i, line in enumerate(body.get("lines") or []):
        line = {k: v for k, v in line.items() if k in ("source_line_id", "quantity")}
        line["sku"] = skus[i % len(skus)]
        line["quantity"] = "1"
        lines.append(line)
    body["lines"] = lines
    case.body = body
    headers = dict(case.headers or {})
    headers["Idempotency-Key"] = uuid.uuid4().hex
    case.headers = headers
    return case

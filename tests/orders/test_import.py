"""manage.py import_orders: the same pipeline, a per-row report, nothing created twice."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import SalesOrder

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CSV = """source_order_id,revision,account_number,currency,sku,quantity,unit_price,source_line_id
L-1,1,C-1,USD,DRILL-1,2,90.00,1
L-1,1,C-1,USD,SAW-1,1,45.00,2
L-2,1,C-1,USD,NOPE-9,1,10.00,1
L-3,1,C-1,USD,SAW-1,0,10.00,1
"""


def test_import_reports_each_row_and_a_reimport_creates_nothing_twice(world, tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_text(CSV)
    out = StringIO()
    call_command("import_orders", str(path), "--channel", "market", stdout=out, stderr=StringIO())
    rows = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [r["result"] for r in rows] == ["accepted", "rejected", "rejected"]
    assert "lines[0].sku" in rows[1]["errors"]
    assert "lines" in rows[2]["errors"]
    order = SalesOrder.objects.get(source_order_id="L-1")
    assert order.lines.count() == 2
    assert {line.price_source for line in order.lines.all()} == {"source"}

    again = StringIO()
    call_command("import_orders", str(path), "--channel", "market", stdout=again, stderr=StringIO())
    rows = [json.loads(line) for line in again.getvalue().splitlines() if line.startswith("{")]
    assert rows[0]["result"] == "already imported"
    assert SalesOrder.objects.count() == 1


def test_import_reads_json_bodies(world, tmp_path):
    path = tmp_path / "legacy.json"
    line = {"source_line_id": "1", "sku": "SAW-1", "quantity": "3"}
    path.write_text(
        json.dumps([{"source_order_id": "J-1", "customer": {"account_number": "C-1"}, "lines": [line]}])
    )
    out = StringIO()
    call_command("import_orders", str(path), "--channel", "web", stdout=out, stderr=StringIO())
    assert "1 accepted, 0 not imported, 1 rows" in out.getvalue()
    assert SalesOrder.objects.get(source_order_id="J-1").status == "open"

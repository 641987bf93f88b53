"""Report exports, streamed: CSV row by row as the server-side cursor yields them; XLSX through
xlsxwriter's constant_memory mode (each row is flushed to a temporary file as it is written, so
memory stays flat), the finished file then streamed to the client in chunks."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse

from oms.kernel.web import csv_safe, csv_stream

from .selectors import RankingRow

HEADER = ["rank", "key", "label", "value", "revenue", "units", "orders", "aov", "margin", "share",
          "previous_rank", "rank_change", "previous_value", "change_pct"]  # fmt: skip


def _cells(row: RankingRow) -> list[Any]:
    return [
        row.rank, row.key, row.label, row.value, row.revenue, row.units, row.orders, row.aov, row.margin,
        row.share, row.previous_rank, row.rank_change, row.previous_value, row.change_pct,
    ]  # fmt: skip


def ranking_csv(rows: Iterable[RankingRow], *, filename: str, note: str) -> StreamingHttpResponse:
    def lines() -> Iterator[list[Any]]:
        for row in rows:
            yield _cells(row)
        yield ["#", note]

    return csv_stream(filename, HEADER, lines())


def ranking_xlsx(rows: Iterable[RankingRow], *, filename: str, note: str) -> FileResponse:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it when sent)
    workbook = xlsxwriter.Workbook(spool, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet("ranking")
    sheet.write_row(0, 0, HEADER)
    n = 0
    for n, row in enumerate(rows, start=1):
        cells = [float(c) if isinstance(c, Decimal) else csv_safe(c) for c in _cells(row)]
        sheet.write_row(n, 0, ["" if c is None else c for c in cells])
    sheet.write_row(n + 2, 0, ["#", note])
    workbook.close()
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

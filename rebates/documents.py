"""The claim document sent to the supplier (or customer): its lines with the accruals they claim,
as CSV (for their spreadsheet) and as PDF (WeasyPrint, from an HTML template and a stylesheet in
static/css; no inline styles)."""

from __future__ import annotations

import csv
import io

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from oms.kernel.web import csv_safe

from .models import Claim

CSV_HEADER = [
    "claim",
    "line",
    "accrual",
    "kind",
    "document",
    "date",
    "product",
    "quantity",
    "basis value",
    "rate",
    "amount",
    "currency",
]


def claim_rows(claim: Claim) -> list[list]:
    rows = []
    for i, line in enumerate(claim.lines.all(), start=1):
        a = line.accrual
        rows.append(
            [
                claim.number,
                i,
                a.pk,
                a.kind,
                a.document,
                a.source_date.isoformat(),
                a.product.sku if a.product_id else "",
                a.quantity,
                a.value,
                a.rate,
                line.amount,
                claim.currency,
            ]
        )
    return rows


def claim_csv_text(claim: Claim) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    party = claim.supplier or claim.customer
    writer.writerow(["claim", claim.number, "program", claim.program.code, "to", csv_safe(str(party))])
    writer.writerow(["status", claim.status, "amount", claim.amount, "currency", claim.currency])
    writer.writerow([])
    writer.writerow(CSV_HEADER)
    for row in claim_rows(claim):
        writer.writerow([csv_safe(v) for v in row])
    writer.writerow([])
    writer.writerow(["total", "", "", "", "", "", "", "", "", "", claim.amount, claim.currency])
    return out.getvalue()


def claim_csv(claim: Claim) -> HttpResponse:
    response = HttpResponse(claim_csv_text(claim), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{claim.number}.csv"'
    return response


def claim_html(claim: Claim) -> str:
    return render_to_string(
        "rebates/claim_document.html",
        {"claim": claim, "lines": list(claim.lines.all()), "printed": timezone.localdate()},
    )


def claim_pdf(claim: Claim) -> bytes:
    from weasyprint import CSS, HTML  # imported here: it loads pango, which only this needs

    stylesheet = finders.find("css/claim-document.css")
    return HTML(string=claim_html(claim)).write_pdf(stylesheets=[CSS(filename=stylesheet)])


def claim_pdf_response(claim: Claim, *, request=None) -> HttpResponse:
    response = HttpResponse(claim_pdf(claim), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{claim.number}.pdf"'
    return response

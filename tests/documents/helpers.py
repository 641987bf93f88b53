"""Contexts the way an owning app hands them to documents, and reading a stored PDF back."""

from __future__ import annotations

import io
import unicodedata
from decimal import Decimal

from pypdf import PdfReader

from documents.models import Document


def invoice_context(*, lines: int = 3, name: str = "Ana Lima", currency: str = "EUR") -> dict:
    rows = []
    net = Decimal(0)
    for i in range(1, lines + 1):
        unit = Decimal("12.50") + i
        quantity = Decimal(i % 4 + 1)
        total = unit * quantity
        net += total
        rows.append(
            {
                "sku": f"SKU-{i:04d}",
                "description": f"Widget model {i}",
                "quantity": str(quantity),
                "unit_price": str(unit),
                "total": str(total),
            }
        )
    tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    return {
        "title": "Invoice",
        "reference": "SO-000042",
        "date": "2026-03-01",
        "due_date": "2026-03-31",
        "payment_terms": "NET30",
        "currency": currency,
        "party": {"name": name, "address": ["Rua Augusta 12", "Lisboa"]},
        "lines": rows,
        "totals": [
            {"label": "Net", "amount": str(net)},
            {"label": "Tax", "amount": str(tax)},
            {"label": "Total", "amount": str(net + tax)},
        ],
    }


def pdf_text(document: Document) -> str:
    with document.file.open("rb") as fh:
        data = fh.read()
    return pdf_bytes_text(data)


def pdf_bytes_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # NFKC folds Arabic presentation forms (the shaped glyphs) back to the letters typed.
    return unicodedata.normalize("NFKC", "\n".join(page.extract_text() for page in reader.pages))


def pdf_fonts(document: Document) -> set[str]:
    with document.file.open("rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font") or {}
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont", "")))
    return names

"""Documents from Django templates to HTML and PDF (WeasyPrint).

`documents/pdf/<type>.html` (falling back to `documents/pdf/generic.html`) extends the letterhead
`documents/pdf/base.html`: the company's logo, name and address (settings OMS_COMPANY_*), page
numbers in the footer (`counter(page)` of `counter(pages)`), and the stylesheet
static/css/document.css with the fonts for Latin, Chinese, Japanese and Arabic text. WeasyPrint
may read only local files (the stylesheet, the logo): a document never fetches a URL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.loader import select_template
from django.utils import timezone

from . import formatting


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes
    content_hash: str


def _static_uri(path: str) -> str:
    found = finders.find(path)
    return Path(found).resolve().as_uri() if found else ""


def letterhead() -> dict:
    return {
        "name": settings.OMS_COMPANY_NAME,
        "address": [line.strip() for line in settings.OMS_COMPANY_ADDRESS.split("|") if line.strip()],
        "logo": _static_uri(settings.OMS_COMPANY_LOGO),
    }


def render_html(*, doc_type: str, number: str, version: int, locale: str, context: dict) -> str:
    template = select_template([f"documents/pdf/{doc_type}.html", "documents/pdf/generic.html"])
    language = formatting.language_of(locale)
    return template.render(
        {
            **context,
            "doc_type": doc_type,
            "number": number,
            "version": version,
            "locale": locale,
            "language": language,
            "direction": "rtl" if formatting.is_rtl(locale) else "ltr",
            "company": letterhead(),
            "printed": timezone.localdate(),
            "stylesheet": _static_uri("css/document.css"),
        }
    )


def _fetcher():
    from weasyprint.urls import URLFetcher  # loads pango: imported only where a PDF is made

    # Local files only (the stylesheet and the logo); never the network.
    return URLFetcher(allowed_protocols=("file", "data"), fail_on_errors=False)


_SHARED: dict = {}


def _font_config():
    """One FontConfiguration per process: fontconfig is read once, not for every document."""
    from weasyprint.text.fonts import FontConfiguration

    if "fonts" not in _SHARED:
        _SHARED["fonts"] = FontConfiguration()
    return _SHARED["fonts"]


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=_fetcher()).write_pdf(
        font_config=_font_config()
    )


def render(*, doc_type: str, number: str, version: int, locale: str, context: dict) -> Rendered:
    """The whole PDF in memory, or an exception: nothing is written before it is complete."""
    html = render_html(doc_type=doc_type, number=number, version=version, locale=locale, context=context)
    pdf = render_pdf(html)
    return Rendered(html=html, pdf=pdf, content_hash=hashlib.sha256(pdf).hexdigest())


# --- admin-edited templates -------------------------------------------------------------------

_ENGINE = None


def _engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine(debug=True, libraries={"document_tags": "documents.templatetags.document_tags"})
    return _ENGINE


def template_check(source: str, *, field: str) -> None:
    """Compile an admin-edited template; a syntax error is refused naming its line."""
    try:
        Template(source, engine=_engine())
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        line = info.get("line")
        where = f"line {line}: " if line else ""
        raise ValidationError({field: f"{where}{exc}"}) from exc


def render_text(source: str, context: dict) -> str:
    return Template(source, engine=_engine()).render(Context(context, autoescape=False))

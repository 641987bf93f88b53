"""Documents rendered from templates to PDF: the invoice's number, lines and totals read back
from the PDF, versions on re-issue, page numbers and letterhead, locale formats, CJK and Arabic
names with the fonts the project installs, and a failed render that leaves a draft."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from django.core.exceptions import ValidationError

from documents import formatting
from documents.models import Document, DocumentEvent, MailTemplate, retention_days
from documents.services import document_issue, document_reissue, document_transition
from documents.states import DOCUMENT_TRANSITIONS, DocumentStatus, ensure_document_transition
from oms.kernel.exceptions import IllegalTransition

from .helpers import invoice_context, pdf_fonts, pdf_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _issue(**kwargs) -> Document:
    params = {
        "doc_type": "invoice",
        "number": "INV-100001",
        "owner_type": "invoice",
        "owner_id": "INV-100001",
        "context": invoice_context(),
        "party_name": "Ana Lima",
        "party_email": "ana@mail.example",
        "locale": "en",
    }
    params.update(kwargs)
    return document_issue(**params)


def test_invoice_pdf_contains_its_number_lines_and_totals():
    context = invoice_context(lines=3)
    document = _issue(context=context)
    assert document.status == DocumentStatus.ISSUED and document.version == 1
    text = pdf_text(document)
    assert "INV-100001" in text
    for line in context["lines"]:
        assert line["sku"] in text and line["description"] in text
    # Money in the customer's locale (en): thousands grouped, two decimals, the euro sign.
    for row in context["totals"]:
        assert f"{row['label']} {formatting.money(row['amount'], 'EUR', 'en')}" in text
    assert "Page 1 of 1" in text
    assert "OMS Trading Ltd" in text and "Rotterdam 3011 AA" in text  # letterhead from settings
    with document.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == document.content_hash


def test_reissue_makes_version_two_and_version_one_stays_readable():
    first = _issue()
    changed = invoice_context(lines=2)
    changed["totals"][-1]["amount"] = "999.99"
    second = document_reissue(document_id=first.pk, actor="finance", context=changed)
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert not first.is_current and second.is_current
    assert first.has_file and first.content_hash != second.content_hash
    assert "SKU-0003" in pdf_text(first) and "SKU-0003" not in pdf_text(second)
    assert "(version 2)" in pdf_text(second)


def test_a_long_invoice_numbers_every_page():
    document = _issue(context=invoice_context(lines=100))
    text = pdf_text(document)
    pages = text.count("Page ")
    assert pages >= 2 and f"Page {pages} of {pages}" in text
    assert "SKU-0100" in text


def test_money_and_dates_follow_the_customers_locale():
    context = invoice_context(lines=1)
    context["totals"] = [{"label": "Total", "amount": "1234.5"}]
    document = _issue(context=context, locale="de-DE")
    text = pdf_text(document)
    assert "1.234,50 €" in text  # German grouping and decimal comma, symbol after
    assert "1. März 2026" in text  # the long date, in German
    assert formatting.money("1234", "JPY", "ja_JP") == "￥1,234"  # JPY has no minor unit


def test_cjk_and_arabic_names_render_with_the_installed_fonts():
    names = ["王小明", "山田太郎", "محمد العربي"]
    context = invoice_context()
    context["party"] = {"name": names[0], "address": [names[1], names[2]]}
    document = _issue(context=context, party_name=names[0])
    text = pdf_text(document)
    for name in names:
        assert name in text
    fonts = " ".join(pdf_fonts(document))
    # The glyphs come from the fonts .ci/run and the Dockerfile install (fonts-wqy-zenhei,
    # fonts-hosny-amiri), not from a fallback that would print boxes.
    assert "WenQuanYi" in fonts and "Amiri" in fonts


def test_the_document_fonts_are_installed():
    families = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=True).stdout
    for family in ("DejaVu Sans", "WenQuanYi Zen Hei", "Amiri"):
        assert family in families


def test_a_render_failure_leaves_a_draft_with_the_error_and_no_file():
    context = invoice_context()
    context["lines"][0]["total"] = "twelve"  # not an amount: the money tag refuses it
    document = _issue(context=context)
    document.refresh_from_db()
    assert document.status == DocumentStatus.DRAFT
    assert "Not an amount: 'twelve'" in document.render_error
    assert not document.file and document.content_hash == ""
    assert DocumentEvent.objects.filter(document=document, kind="render_failed").exists()


def test_every_transition_outside_the_table_is_refused():
    statuses = list(DocumentStatus)
    for before, allowed in DOCUMENT_TRANSITIONS.items():
        for after in statuses:
            if after in allowed:
                ensure_document_transition(before, after)
            else:
                with pytest.raises(IllegalTransition):
                    ensure_document_transition(before, after)
    document = _issue()
    with pytest.raises(IllegalTransition):
        document_transition(document_id=document.pk, to=DocumentStatus.DRAFT, actor="finance")
    voided = document_transition(
        document_id=document.pk, to=DocumentStatus.VOID, actor="finance", note="typo"
    )
    assert voided.status == DocumentStatus.VOID
    history = list(
        DocumentEvent.objects.filter(document=document, kind="status").values_list("before", "after")
    )
    assert history == [("draft", "issued"), ("issued", "void")]


def test_an_admin_edited_template_with_a_syntax_error_is_refused_naming_its_line():
    template = MailTemplate(
        doc_type="invoice", language="en", subject="Invoice {{ number }}", body="Hello\n\n{% if x %}\nno end"
    )
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert "line 3" in str(refused.value.message_dict["body"])


def test_retention_is_per_document_type(settings):
    assert retention_days("invoice") > retention_days("pick_list")
    settings.OMS_DOCUMENT_RETENTION = "pick_list=10"
    assert retention_days("pick_list") == 10
    document = _issue()
    assert (document.retain_until - document.issued_at).days == retention_days("invoice")


def test_the_purge_removes_expired_files_and_keeps_the_rows_and_logs(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from documents.models import DocumentView, document_storage
    from documents.services import documents_purge, view_record

    old = _issue(number="INV-OLD")
    kept = _issue(number="INV-NEW")
    view_record(document_id=old.pk, channel="staff", who="finance")
    Document.objects.filter(pk=old.pk).update(retain_until=timezone.now() - timedelta(days=1))
    name = old.file.name
    assert document_storage().exists(name)
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
        assert documents_purge() == 1
    assert len(ctx.captured_queries) <= 8  # set-based: a handful of statements per batch
    old.refresh_from_db()
    kept.refresh_from_db()
    assert old.purged_at is not None and not old.has_file and old.content_hash
    assert not document_storage().exists(name)
    assert kept.has_file and document_storage().exists(kept.file.name)
    assert DocumentView.objects.filter(document=old).count() == 1  # the log stays
    assert DocumentEvent.objects.filter(document=old, kind="purged").exists()
    assert documents_purge() == 0


def test_the_console_refuses_a_mail_template_that_does_not_compile(admin_client):
    r = admin_client.post(
        "/admin/documents/mailtemplate/add/",
        {
            "doc_type": "invoice",
            "language": "en",
            "subject": "Invoice {{ number }}",
            "body": "Hi\n{% for x in y %}",
        },
    )
    assert r.status_code == 200 and "line 2" in r.content.decode()
    assert not MailTemplate.objects.exists()


def test_an_event_handlers_draft_is_rendered_by_the_sweep_once(django_capture_on_commit_callbacks):
    from documents import tasks

    with django_capture_on_commit_callbacks() as callbacks:
        draft = _issue(render=False)
    assert draft.status == DocumentStatus.DRAFT and not draft.file and callbacks == []
    tasks.mail_sweep.apply()  # what beat runs every 30 s
    draft.refresh_from_db()
    assert draft.status == DocumentStatus.ISSUED and "INV-100001" in pdf_text(draft)
    first_hash = draft.content_hash
    tasks.mail_sweep.apply()
    tasks.document_render.apply(args=[draft.pk])  # a repeated render changes nothing
    draft.refresh_from_db()
    assert draft.content_hash == first_hash and draft.events.filter(kind="status").count() == 1

"""Reads of documents: lists, an order's documents, a document's history, views and mails."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet

from .models import CaughtMail, Document, DocumentEvent, DocumentMail, DocumentView


def document_list() -> QuerySet[Document]:
    return Document.objects.order_by("-created_at", "-id")


def documents_related(ref: str) -> list[Document]:
    """Every version of the documents filed under `ref` ("order:SO-000042"), newest first."""
    return list(
        Document.objects.filter(related_ref=ref)
        .order_by("-created_at", "-id")
        .only(
            "id",
            "doc_type",
            "number",
            "version",
            "is_current",
            "status",
            "created_at",
            "issued_at",
            "purged_at",
            "file",
        )
    )


def document_versions(document: Document) -> list[Document]:
    return list(
        Document.objects.filter(doc_type=document.doc_type, number=document.number).order_by("-version")
    )


def document_history(document: Document) -> list[DocumentEvent]:
    return list(DocumentEvent.objects.filter(document=document).order_by("created_at", "id"))


def document_view_log(document_id: int) -> QuerySet[DocumentView]:
    """Newest first; read a page at a time (index document_view_doc_idx)."""
    return (
        DocumentView.objects.filter(document_id=document_id)
        .select_related("user")
        .only(
            "id",
            "channel",
            "outcome",
            "action",
            "who",
            "link",
            "ip",
            "user_agent",
            "reason",
            "created_at",
            "document_id",
            "user__username",
        )
        .order_by("-id")
    )


def document_mails(document: Document) -> list[DocumentMail]:
    return list(
        DocumentMail.objects.filter(document__doc_type=document.doc_type, document__number=document.number)
    )


def caught_mails() -> QuerySet[CaughtMail]:
    return CaughtMail.objects.order_by("-id")


class ViewLogPaginator(Paginator):
    """A page of the view log in two reads: the page's ids from the index alone (document, -id:
    an index-only scan walks past the skipped rows without touching the table), then those rows.
    A deep page of a document viewed 100,000 times costs what a first page costs, nearly."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("id", flat=True)[bottom : bottom + self.per_page])
        rows = list(self.object_list.filter(id__in=ids)) if ids else []
        return self._get_page(rows, number, self)

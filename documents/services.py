"""Every write to documents: issue (render and store), re-issue (a new version), status changes,
the view log, and retention. Each app that owns a document calls these with its own context.

A rendering failure never leaves a half file: the PDF is made whole in memory first; when it
fails the document stays (or goes back to) `draft` with the error and no file."""

from __future__ import annotations

import logging
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from oms.kernel.exceptions import NotFound, ValidationFailed

from . import rendering
from .models import Document, DocumentEvent, DocumentView
from .states import DocumentStatus, DocumentType, ViewChannel, ViewOutcome, ensure_document_transition

log = logging.getLogger(__name__)


def _record(
    document: Document, kind: str, *, before: str = "", after: str = "", actor: str = "", note: str = ""
):
    DocumentEvent.objects.create(
        document=document, kind=kind, before=before, after=after, actor=actor[:150], note=note
    )


def _render_into(document: Document, *, actor: str) -> Document:
    """Render `document` (a draft, locked by the caller) and issue it, or leave it in draft with
    the error. The file is written only once the whole PDF exists."""
    try:
        rendered = rendering.render(
            doc_type=document.doc_type,
            number=document.number,
            version=document.version,
            locale=document.locale,
            context=document.context,
        )
    except Exception as exc:  # a template or layout error in one document must not fail the caller
        error = f"{type(exc).__name__}: {exc}"[:4000]
        log.warning("document %s v%s failed to render: %s", document.number, document.version, error)
        document.render_error = error
        document.save(update_fields=["render_error"])
        _record(document, "render_failed", actor=actor, note=error)
        return document
    now = timezone.now()
    document.file.save(document.filename, ContentFile(rendered.pdf), save=False)
    document.size = len(rendered.pdf)
    document.content_hash = rendered.content_hash
    document.render_error = ""
    before = document.status
    document.status = DocumentStatus.ISSUED
    document.issued_at = now
    document.retain_until = document.retention_end()
    document.save(
        update_fields=["file", "size", "content_hash", "render_error", "status", "issued_at", "retain_until"]
    )
    _record(document, "status", before=before, after=document.status, actor=actor, note="rendered")
    return document


@transaction.atomic
def document_issue(
    *,
    doc_type: str,
    number: str,
    owner_type: str,
    owner_id: Any,
    context: dict,
    related_ref: str = "",
    title: str = "",
    party_name: str = "",
    party_email: str = "",
    locale: str = "en",
    actor: str = "system",
    render: bool = True,
) -> Document:
    """Render and issue a document as its next version (version 1 the first time). The version
    before it stays stored and readable; it is no longer the current one.

    `render=False` (what event handlers pass) only records the draft: the documents sweep
    renders it (`documents.tasks.mail_sweep`, every 30 s), or its mail when it is sent. A PDF
    takes a few hundred milliseconds of CPU, which neither an outbox batch nor the worker queue
    that carries orders should wait for."""
    if doc_type not in DocumentType.values:
        raise ValidationFailed("Unknown document type.", fields={"doc_type": [doc_type]})
    if not number:
        raise ValidationFailed("A document needs a number.", fields={"number": ["Required."]})
    # The versions of one document are numbered under a lock of its current row (when there is
    # one); two first issues racing meet the unique constraints instead.
    current = (
        Document.objects.select_for_update(of=("self",))
        .filter(doc_type=doc_type, number=number, is_current=True)
        .first()
    )
    last = Document.objects.filter(doc_type=doc_type, number=number).aggregate(v=Max("version"))["v"] or 0
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    try:
        with transaction.atomic():
            document = Document.objects.create(
                doc_type=doc_type,
                number=number,
                version=last + 1,
                title=title or DocumentType(doc_type).label,
                owner_type=owner_type,
                owner_id=str(owner_id),
                related_ref=related_ref,
                party_name=party_name[:200],
                party_email=party_email,
                locale=locale or "en",
                context=context,
            )
    except IntegrityError as exc:
        raise ValidationFailed("This document is being issued by another request; try again.") from exc
    _record(document, "created", after=DocumentStatus.DRAFT, actor=actor, note=f"version {document.version}")
    if not render:
        return document
    return _render_into(document, actor=actor)


def render_due_ids(*, limit: int = 50) -> list[int]:
    """Drafts waiting for their first rendering (a failed one keeps its error until re-issued)."""
    return list(
        Document.objects.filter(status=DocumentStatus.DRAFT, render_error="", file="")
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def document_ensure(*, doc_type: str, number: str, **kwargs: Any) -> Document:
    """The current version of a document, issued now if it does not exist yet (what an event
    handler calls: a redelivered event finds the document the first delivery made)."""
    existing = (
        Document.objects.filter(doc_type=doc_type, number=number, is_current=True)
        .exclude(status=DocumentStatus.VOID)
        .first()
    )
    if existing is not None:
        return existing
    return document_issue(doc_type=doc_type, number=number, **kwargs)


@transaction.atomic
def document_reissue(*, document_id: int, actor: str, context: dict | None = None) -> Document:
    """A new version of the document (from new facts, or the same ones re-rendered)."""
    old = Document.objects.filter(pk=document_id).first()
    if old is None:
        raise NotFound("No such document.")
    return document_issue(
        doc_type=old.doc_type,
        number=old.number,
        owner_type=old.owner_type,
        owner_id=old.owner_id,
        related_ref=old.related_ref,
        context=old.context if context is None else context,
        title=old.title,
        party_name=old.party_name,
        party_email=old.party_email,
        locale=old.locale,
        actor=actor,
    )


@transaction.atomic
def document_render_retry(*, document_id: int, actor: str) -> Document:
    document = Document.objects.select_for_update(of=("self",)).filter(pk=document_id).first()
    if document is None:
        raise NotFound("No such document.")
    ensure_document_transition(document.status, DocumentStatus.ISSUED)
    return _render_into(document, actor=actor)


def document_render_pending(*, document_id: int, actor: str = "system") -> Document | None:
    """Render a draft that is waiting for it; a document already rendered (or void) is left as
    it is, so a repeated task changes nothing."""
    with transaction.atomic():
        document = Document.objects.select_for_update(of=("self",)).filter(pk=document_id).first()
        if document is None or document.status != DocumentStatus.DRAFT:
            return document
        return _render_into(document, actor=actor)


@transaction.atomic
def document_transition(*, document_id: int, to: str, actor: str, note: str = "") -> Document:
    """Move a document along DOCUMENT_TRANSITIONS, with its history row."""
    document = Document.objects.select_for_update(of=("self",)).filter(pk=document_id).first()
    if document is None:
        raise NotFound("No such document.")
    ensure_document_transition(document.status, to)
    before = document.status
    document.status = to
    document.save(update_fields=["status"])
    _record(document, "status", before=before, after=to, actor=actor, note=note)
    return document


def document_advance(*, document_id: int, to: str, actor: str, note: str = "") -> bool:
    """Move forward to `to` when the table allows it from where the document is; else nothing
    (a second view does not make a viewed document 'viewed' again, an acknowledged one stays)."""
    with transaction.atomic():
        document = Document.objects.select_for_update(of=("self",)).filter(pk=document_id).first()
        if document is None or to not in _forward_from(document.status):
            return False
        before = document.status
        document.status = to
        document.save(update_fields=["status"])
        _record(document, "status", before=before, after=to, actor=actor, note=note)
        return True


_ORDER = [DocumentStatus.ISSUED, DocumentStatus.SENT, DocumentStatus.VIEWED, DocumentStatus.ACKNOWLEDGED]


def _forward_from(status: str) -> set[str]:
    if status not in _ORDER:
        return set()
    return set(_ORDER[_ORDER.index(status) + 1 :])


# --- the view log -----------------------------------------------------------------------------


def view_record(
    *,
    document_id: int | None,
    channel: str,
    action: str = "view",
    user=None,
    who: str = "",
    link: str = "",
    ip: str | None = None,
    user_agent: str = "",
    refused: str = "",
) -> DocumentView:
    """One row per view, download or refused attempt. A customer's view (link or mail open)
    moves an issued or sent document to `viewed`."""
    row = DocumentView.objects.create(
        document_id=document_id,
        channel=channel,
        action=action[:10],
        outcome=ViewOutcome.REFUSED if refused else ViewOutcome.SHOWN,
        user=user if getattr(user, "is_authenticated", False) else None,
        who=who[:200],
        link=link[:32],
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
        reason=refused[:200],
    )
    if not refused and document_id and channel in (ViewChannel.LINK, ViewChannel.EMAIL_OPEN):
        document_advance(
            document_id=document_id, to=DocumentStatus.VIEWED, actor=who or channel, note=channel
        )
    return row


# --- retention --------------------------------------------------------------------------------

PURGE_BATCH = 500


def documents_purge(*, now=None, batch: int = PURGE_BATCH) -> int:
    """Remove the files of documents whose retention ended (retain_until, set at issue from the
    type's period). The rows stay -- number, version, status, hash, history, view log and mail
    log -- with `purged_at` set and the file name cleared, one UPDATE per batch; the files are
    deleted after that batch commits (a crash in between leaves an unreferenced file, never a
    row pointing at a missing one)."""
    from .models import document_storage

    now = now or timezone.now()
    storage = document_storage()
    purged = 0
    while True:
        with transaction.atomic():
            rows = list(
                Document.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(retain_until__lt=now, purged_at__isnull=True)
                .exclude(file="")
                .order_by("pk")
                .values_list("pk", "file")[:batch]
            )
            if not rows:
                return purged
            ids = [pk for pk, _ in rows]
            Document.objects.filter(pk__in=ids).update(purged_at=now, file="")
            DocumentEvent.objects.bulk_create(
                [
                    DocumentEvent(document_id=pk, kind="purged", actor="retention", note=name)
                    for pk, name in rows
                ]
            )
            names = [name for _, name in rows]
            transaction.on_commit(lambda names=names: _delete_files(storage, names))
        purged += len(rows)


def _delete_files(storage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError as exc:  # already gone, or the disk refused: the row says purged either way
            log.warning("document file %s not deleted: %s", name, exc)

"""Documents by email: composing the message (templates per type and language, the PDF
attached, a signed link and an open pixel), queueing one row per recipient, sending after the
commit with retries, and the mail catcher backend that keeps mail for the staff UI (the demo).

Queueing happens in the caller's transaction -- an outbox subscriber's, when a business event
asks for the mail -- and the rows are unique per (dedupe_key, recipient): the same event
delivered twice queues nothing new. Sending cannot join a transaction, so it runs after the
commit (`documents.tasks.mail_send`), claims its row with a lease (a conditional UPDATE), and
records the outcome on the row; a refused attempt waits OMS_MAIL_BACKOFF_SECONDS x 2^(n-1) and
the beat sweep (`documents-mail-sweep`) tries again, until OMS_MAIL_MAX_ATTEMPTS: then failed."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import F
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.utils import timezone

from . import formatting, links, rendering
from .models import CaughtMail, Document, DocumentMail, MailTemplate
from .services import _record, document_advance, document_render_pending
from .states import DocumentStatus, MailStatus

log = logging.getLogger(__name__)
LEASE_SECONDS = 120


class CatcherEmailBackend(BaseEmailBackend):
    """Keeps every message in the database instead of sending it: the staff UI's mail catcher
    (Documents > Mail catcher) shows them. For the demo (`make run`), never for production."""

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            body = message.body
            CaughtMail.objects.create(
                subject=str(message.subject)[:300],
                from_email=str(message.from_email)[:300],
                to=", ".join(message.recipients()),
                body=body,
                attachments=[
                    {"name": a[0], "type": a[2], "size": len(a[1])}
                    for a in message.attachments
                    if isinstance(a, tuple)
                ],
            )
        return len(email_messages)


# --- composing --------------------------------------------------------------------------------


def _texts(document: Document, language: str, context: dict, variant: str = "") -> tuple[str, str]:
    """(subject, body): an admin-edited MailTemplate for the type and language when there is
    one, else the files documents/email/[<variant>/]<type>.<language>.txt (first line is the
    subject; a variant -- the sender's channel -- may have its own), falling back to English and
    then to the generic text."""
    for lang in dict.fromkeys([language, "en"]):
        edited = MailTemplate.objects.filter(doc_type=document.doc_type, language=lang).first()
        if edited is not None:
            return (
                rendering.render_text(edited.subject, context).strip(),
                rendering.render_text(edited.body, context),
            )
    langs = list(dict.fromkeys([language, "en"]))
    names = [f"documents/email/{variant}/{document.doc_type}.{lang}.txt" for lang in langs if variant]
    names += [f"documents/email/{document.doc_type}.{lang}.txt" for lang in langs]
    names += [f"documents/email/generic.{lang}.txt" for lang in langs]
    text = select_template(names).render(context)
    subject, _, body = text.lstrip().partition("\n")
    return subject.strip(), body.lstrip("\n")


def compose(mail: DocumentMail) -> EmailMultiAlternatives:
    document = mail.document
    view_url = links.view_url(document_id=document.pk, recipient=mail.recipient, mail_id=mail.pk)
    context = {
        "document": document,
        "number": document.number,
        "title": document.title,
        "name": document.party_name,
        "reference": document.context.get("reference", ""),
        "facts": document.context.get("facts", []),
        "view_url": view_url,
        "company": settings.OMS_COMPANY_NAME,
    }
    subject, body = _texts(document, formatting.language_of(mail.language), context, mail.variant)
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[mail.recipient]
    )
    try:
        html = render_to_string(
            "documents/email/message.html",
            {
                **context,
                "body": body,
                "pixel_url": links.open_url(
                    document_id=document.pk, recipient=mail.recipient, mail_id=mail.pk
                ),
                "direction": "rtl" if formatting.is_rtl(mail.language) else "ltr",
            },
        )
        message.attach_alternative(html, "text/html")
    except TemplateDoesNotExist:
        pass
    if mail.marketing:
        unsubscribe = links.unsubscribe_url(recipient=mail.recipient)
        message.body += f"\n\nNo more messages like this one: {unsubscribe}\n"
        message.extra_headers["List-Unsubscribe"] = f"<{unsubscribe}>"
    with document.file.open("rb") as fh:
        message.attach(document.filename, fh.read(), "application/pdf")
    message.extra_headers["Message-ID"] = make_msgid(
        domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or None
    )
    message.extra_headers["X-OMS-Document"] = f"{document.doc_type}:{document.number}:v{document.version}"
    return message


def compose_digest(mails: list[DocumentMail]) -> EmailMultiAlternatives:
    """One message for several documents of one order to one recipient (the policy's digest)."""
    first = mails[0]
    documents = [m.document for m in mails]
    context = {
        "documents": [
            {
                "title": d.title,
                "number": d.number,
                "view_url": links.view_url(document_id=d.pk, recipient=first.recipient),
            }
            for d in documents
        ],
        "reference": documents[0].context.get("reference", ""),
        "name": documents[0].party_name,
        "company": settings.OMS_COMPANY_NAME,
    }
    lang = formatting.language_of(first.language)
    text = select_template([f"documents/email/digest.{lang}.txt", "documents/email/digest.en.txt"]).render(
        context
    )
    subject, _, body = text.lstrip().partition("\n")
    message = EmailMultiAlternatives(
        subject=subject.strip(),
        body=body.lstrip("\n"),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[first.recipient],
    )
    for document in documents:
        with document.file.open("rb") as fh:
            message.attach(document.filename, fh.read(), "application/pdf")
    message.extra_headers["Message-ID"] = make_msgid(
        domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or None
    )
    message.extra_headers["X-OMS-Document"] = ", ".join(
        f"{d.doc_type}:{d.number}:v{d.version}" for d in documents
    )
    return message


# --- queueing ---------------------------------------------------------------------------------


def mail_queue(
    *,
    document: Document,
    recipients: list[str],
    dedupe_key: str,
    language: str = "",
    variant: str = "",
    kick: bool = True,
) -> list[int]:
    """One queued row per recipient (those already queued for `dedupe_key` are left alone);
    the sends are kicked after the commit (`kick=False`: the sweep sends them, within 30 s; what
    event handlers pass, so a burst of orders never queues PDF work ahead of the orders' own
    tasks). Returns the ids of the rows it added."""
    from .policy import decide

    added: list[int] = []
    skipped: list[str] = []
    for recipient in dict.fromkeys(r.strip().lower() for r in recipients if r and r.strip()):
        decision = decide(channel=variant, doc_type=document.doc_type, recipient=recipient)
        if not decision.send:
            skipped.append(f"{recipient}: {decision.reason}")
            continue
        row, created = DocumentMail.objects.get_or_create(
            dedupe_key=dedupe_key[:120],
            recipient=recipient,
            defaults={
                "document": document,
                "language": language or document.locale,
                "variant": variant[:40],
                "next_attempt_at": decision.not_before,
                "group_key": document.related_ref if decision.digest_minutes else "",
                "marketing": decision.marketing,
            },
        )
        if created:
            added.append(row.pk)
    if added:
        _record(document, "mail_queued", actor="mail", note=", ".join(sorted({*recipients})))
        if kick:
            transaction.on_commit(lambda: _kick(added), robust=True)
    if skipped:
        _record(document, "mail_skipped", actor="mail", note="; ".join(skipped))
    return added


def _kick(ids: list[int]) -> None:
    from .tasks import mail_send

    for mail_id in ids:
        try:
            mail_send.apply_async(args=[mail_id], retry=False)
        except Exception as exc:  # the broker is down: the sweep sends
            log.warning("mail send kick failed, the sweep will send: %s", exc)
            return


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.OMS_MAIL_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0)))


def mail_send(*, mail_id: int) -> DocumentMail:
    """Send one queued mail. Claimed by a lease (a conditional UPDATE of next_attempt_at), so two
    workers never send the same attempt; the outcome is written on the row."""
    now = timezone.now()
    claimed = DocumentMail.objects.filter(
        pk=mail_id, status=MailStatus.QUEUED, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    mail = DocumentMail.objects.select_related("document").get(pk=mail_id)
    if not claimed:
        return mail
    together = [mail]
    if mail.group_key:
        # One digest: the other mails of the same order to the same address queued meanwhile.
        lease = now + timedelta(seconds=LEASE_SECONDS)
        others = DocumentMail.objects.filter(
            status=MailStatus.QUEUED, recipient=mail.recipient, group_key=mail.group_key
        ).exclude(pk=mail.pk)
        ids = list(others.filter(next_attempt_at__lte=lease).values_list("pk", flat=True))
        if ids:
            DocumentMail.objects.filter(pk__in=ids, status=MailStatus.QUEUED).update(next_attempt_at=lease)
            together += list(
                DocumentMail.objects.select_related("document").filter(pk__in=ids).order_by("pk")
            )
    for m in together:
        if m.document.status == DocumentStatus.DRAFT:  # its render task has not run (yet)
            m.document = document_render_pending(document_id=m.document_id, actor="mail") or m.document
    try:
        missing = [m.document for m in together if not m.document.has_file]
        if missing:
            raise RuntimeError(f"the document has no file ({missing[0].render_error or 'not rendered'})")
        message = compose(mail) if len(together) == 1 else compose_digest(together)
        get_connection(fail_silently=False).send_messages([message])
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        for m in together:
            _failed(m, error)
        mail.refresh_from_db()
        return mail
    with transaction.atomic():
        DocumentMail.objects.filter(pk__in=[m.pk for m in together]).update(
            status=MailStatus.SENT,
            sent_at=timezone.now(),
            attempts=F("attempts") + 1,
            last_error="",
            subject=str(message.subject)[:200],
            message_id=str(message.extra_headers.get("Message-ID", ""))[:200],
        )
        for m in together:
            document_advance(
                document_id=m.document_id, to=DocumentStatus.SENT, actor="mail", note=f"to {m.recipient}"
            )
    mail.refresh_from_db()
    return mail


def _failed(mail: DocumentMail, error: str) -> DocumentMail:
    attempts = mail.attempts + 1
    final = attempts >= settings.OMS_MAIL_MAX_ATTEMPTS
    DocumentMail.objects.filter(pk=mail.pk, status=MailStatus.QUEUED).update(
        attempts=attempts,
        last_error=error,
        status=MailStatus.FAILED if final else MailStatus.QUEUED,
        next_attempt_at=timezone.now() + _backoff(attempts),
    )
    (log.error if final else log.warning)(
        "mail %s to %s failed (attempt %s): %s", mail.pk, mail.recipient, attempts, error
    )
    mail.refresh_from_db()
    return mail


def mail_due_ids(*, limit: int = 200) -> list[int]:
    return list(
        DocumentMail.objects.filter(status=MailStatus.QUEUED, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def mail_retry(*, mail_id: int) -> DocumentMail:
    """Staff: send a failed mail again (after fixing the address or the server)."""
    from .states import ensure_mail_transition

    with transaction.atomic():
        mail = DocumentMail.objects.select_for_update(of=("self",)).get(pk=mail_id)
        ensure_mail_transition(mail.status, MailStatus.QUEUED)
        DocumentMail.objects.filter(pk=mail_id).update(
            status=MailStatus.QUEUED, next_attempt_at=timezone.now(), attempts=0
        )
        transaction.on_commit(lambda: _kick([mail_id]), robust=True)
    mail.refresh_from_db()
    return mail

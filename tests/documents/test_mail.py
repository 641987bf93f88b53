"""Documents by email: the PDF attached, texts per type and language, one row per recipient,
nothing twice for a repeated request, a refusing or absent SMTP server retried (a real SMTP
server on loopback, started by the test), and the demo's mail catcher page."""

from __future__ import annotations

import email
import socket
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group
from django.utils import timezone

from documents import tasks
from documents.mail import mail_queue, mail_retry, mail_send
from documents.models import CaughtMail, DocumentMail
from documents.services import document_issue
from documents.states import DocumentStatus, MailStatus
from oms.kernel.roles import Role, role_sync
from tests.support.otp import login_verified

from .helpers import invoice_context, pdf_bytes_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FlakyServer:
    """An SMTP server that answers 451 (try again later) to the first `refuse` messages."""

    def __init__(self, refuse: int = 0):
        self.refuse = refuse
        self.received: list[email.message.EmailMessage] = []
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    handler = FlakyServer()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.OMS_MAIL_BACKOFF_SECONDS = 60
    yield handler
    controller.stop()


@pytest.fixture
def invoice():
    return document_issue(
        doc_type="invoice",
        number="INV-300001",
        owner_type="invoice",
        owner_id="INV-300001",
        context=invoice_context(),
        party_name="Ana Lima",
        party_email="ana@mail.example",
    )


def _make_due():
    DocumentMail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_refusing_smtp_server_is_retried_and_the_mail_goes_out_once_with_the_pdf(smtp, invoice):
    smtp.refuse = 1
    (mail_id,) = mail_queue(
        document=invoice, recipients=["ana@mail.example"], dedupe_key="invoice.issued:INV-300001"
    )

    first = mail_send(mail_id=mail_id)
    assert first.status == MailStatus.QUEUED and first.attempts == 1
    assert "451" in first.last_error and smtp.refused == 1 and smtp.received == []
    assert first.next_attempt_at > timezone.now() + timedelta(seconds=50)  # backs off
    assert tasks.mail_sweep() == 0  # not due yet

    _make_due()
    assert tasks.mail_sweep() == 1
    sent = DocumentMail.objects.get(pk=mail_id)
    assert sent.status == MailStatus.SENT and sent.attempts == 2 and sent.last_error == ""
    (message,) = smtp.received
    assert (
        message["To"] == "ana@mail.example" and message["Subject"] == "Invoice INV-300001 for order SO-000042"
    )
    assert message["X-OMS-Document"] == "invoice:INV-300001:v1"
    (attachment,) = list(message.iter_attachments())
    assert (
        attachment.get_content_type() == "application/pdf"
        and attachment.get_filename() == "INV-300001-v1.pdf"
    )
    assert "INV-300001" in pdf_bytes_text(attachment.get_content())
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "/d/" in body  # the signed link
    invoice.refresh_from_db()
    assert invoice.status == DocumentStatus.SENT

    # The same request again (an event delivered twice) queues nothing and mails nobody.
    assert (
        mail_queue(document=invoice, recipients=["ANA@mail.example"], dedupe_key="invoice.issued:INV-300001")
        == []
    )
    _make_due()
    assert tasks.mail_sweep() == 0 and mail_send(mail_id=mail_id).attempts == 2
    assert len(smtp.received) == 1


def test_an_absent_smtp_server_fails_after_the_last_attempt_with_its_reason(settings, invoice):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    settings.OMS_MAIL_MAX_ATTEMPTS = 3
    (mail_id,) = mail_queue(document=invoice, recipients=["ana@mail.example"], dedupe_key="k1")
    for _ in range(3):
        _make_due()
        tasks.mail_sweep()
    mail = DocumentMail.objects.get(pk=mail_id)
    assert mail.status == MailStatus.FAILED and mail.attempts == 3
    assert "ConnectionRefusedError" in mail.last_error
    _make_due()
    assert tasks.mail_sweep() == 0  # failed mail is not retried by itself
    assert mail_retry(mail_id=mail_id).status == MailStatus.QUEUED


def test_one_row_per_recipient_each_with_its_own_outcome(smtp, invoice):
    ids = mail_queue(
        document=invoice,
        recipients=["ana@mail.example", "ap@mail.example", "ana@mail.example"],
        dedupe_key="k2",
    )
    assert len(ids) == 2
    smtp.refuse = 1  # the first one sent is refused this time
    for mail_id in ids:
        mail_send(mail_id=mail_id)
    outcomes = sorted(DocumentMail.objects.values_list("recipient", "status"))
    assert outcomes == [("ana@mail.example", "queued"), ("ap@mail.example", "sent")]


def test_the_text_follows_the_recipients_language(smtp, invoice):
    (mail_id,) = mail_queue(
        document=invoice, recipients=["kunde@mail.example"], dedupe_key="k3", language="de-DE"
    )
    mail_send(mail_id=mail_id)
    (message,) = smtp.received
    assert message["Subject"] == "Rechnung INV-300001 zu Bestellung SO-000042"


def test_the_mail_catcher_keeps_the_mail_for_the_staff_page(settings, client, django_user_model, invoice):
    settings.EMAIL_BACKEND = "documents.mail.CatcherEmailBackend"
    (mail_id,) = mail_queue(document=invoice, recipients=["ana@mail.example"], dedupe_key="k4")
    assert mail_send(mail_id=mail_id).status == MailStatus.SENT
    caught = CaughtMail.objects.get()
    assert caught.to == "ana@mail.example" and caught.attachments[0]["name"] == "INV-300001-v1.pdf"
    role_sync()
    user = django_user_model.objects.create_user(username="desk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.ORDER_DESK.label))
    login_verified(client, user)
    page = client.get("/documents/mail/").content.decode()
    assert "Invoice INV-300001 for order SO-000042" in page and "INV-300001-v1.pdf" in page


def test_a_document_that_failed_to_render_is_not_mailed(smtp):
    context = invoice_context()
    context["totals"][0]["amount"] = "n/a"
    draft = document_issue(
        doc_type="invoice", number="INV-300009", owner_type="invoice", owner_id="INV-300009", context=context
    )
    (mail_id,) = mail_queue(document=draft, recipients=["ana@mail.example"], dedupe_key="k5")
    mail = mail_send(mail_id=mail_id)
    assert mail.status == MailStatus.QUEUED and "has no file" in mail.last_error and smtp.received == []

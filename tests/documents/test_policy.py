"""Communications policy per channel: a disabled type is not mailed, quiet hours hold mail until
they end, several documents of one order within the digest window go out as one mail, and a
marketing-type message carries an unsubscribe link that stops the next one."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from documents import tasks
from documents.mail import mail_queue, mail_send
from documents.models import CommunicationPolicy, DocumentEvent, DocumentMail, Unsubscribe
from documents.policy import quiet_until
from documents.services import document_issue
from documents.states import MailStatus

from .helpers import invoice_context

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _doc(number: str, doc_type: str = "invoice", ref: str = "order:SO-1"):
    return document_issue(
        doc_type=doc_type, number=number, owner_type=doc_type, owner_id=number, related_ref=ref,
        context=invoice_context(lines=2),
    )  # fmt: skip


def _due_now():
    DocumentMail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_disabled_type_is_not_mailed_and_the_history_says_why():
    CommunicationPolicy.objects.create(channel="web", doc_type="invoice", enabled=False)
    document = _doc("INV-P1")
    assert mail_queue(document=document, recipients=["a@mail.example"], dedupe_key="p1", variant="web") == []
    assert "disabled" in DocumentEvent.objects.get(document=document, kind="mail_skipped").note
    # Another channel has no such policy: it mails.
    assert (
        len(mail_queue(document=document, recipients=["a@mail.example"], dedupe_key="p1b", variant="pos"))
        == 1
    )


def test_quiet_hours_hold_the_mail_until_they_end(settings):
    settings.TIME_ZONE = "UTC"
    policy = CommunicationPolicy(quiet_start=time(22, 0), quiet_end=time(7, 0))
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert quiet_until(policy, late) == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    early = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert quiet_until(policy, early) == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert quiet_until(policy, noon) == noon

    now = timezone.localtime()
    start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    CommunicationPolicy.objects.create(doc_type="invoice", quiet_start=start, quiet_end=end)
    (mail_id,) = mail_queue(document=_doc("INV-P2"), recipients=["a@mail.example"], dedupe_key="p2")
    held = DocumentMail.objects.get(pk=mail_id)
    assert held.next_attempt_at > timezone.now() + timedelta(minutes=50)
    assert tasks.mail_sweep() == 0 and mail.outbox == []


def test_documents_of_one_order_within_the_digest_window_go_out_as_one_mail():
    CommunicationPolicy.objects.create(channel="web", digest_minutes=30)
    first, second = _doc("INV-P3"), _doc("SHP-P3", doc_type="shipment_notice")
    other_order = _doc("INV-P4", ref="order:SO-2")
    for document in (first, second, other_order):
        mail_queue(
            document=document, recipients=["a@mail.example"], dedupe_key=document.number, variant="web"
        )
    assert tasks.mail_sweep() == 0  # held for the window
    _due_now()
    assert tasks.mail_sweep() >= 2
    assert len(mail.outbox) == 2  # one digest for SO-1, one mail for SO-2
    digest = next(m for m in mail.outbox if "SO-000042" in m.subject and len(m.attachments) == 2)
    assert sorted(a[0] for a in digest.attachments) == ["INV-P3-v1.pdf", "SHP-P3-v1.pdf"]
    assert set(DocumentMail.objects.values_list("status", flat=True)) == {MailStatus.SENT}


def test_a_marketing_message_can_be_unsubscribed_from():
    CommunicationPolicy.objects.create(doc_type="quote", marketing=True)
    quote = _doc("QT-P5", doc_type="quote")
    (mail_id,) = mail_queue(document=quote, recipients=["lead@mail.example"], dedupe_key="p5")
    mail_send(mail_id=mail_id)
    (message,) = mail.outbox
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert url in message.body
    path = url.split("localhost:8000")[1]
    browser = Client()
    assert browser.get(path).status_code == 200 and not Unsubscribe.objects.exists()  # a page, not an action
    assert browser.post(path).status_code == 200
    assert Unsubscribe.objects.filter(email="lead@mail.example").exists()
    assert mail_queue(document=quote, recipients=["lead@mail.example"], dedupe_key="p6") == []
    # A service message (an invoice) still goes to the same address.
    assert len(mail_queue(document=_doc("INV-P7"), recipients=["lead@mail.example"], dedupe_key="p7")) == 1
    assert Client().get(path[:-3] + "xyz").status_code == 403


def test_the_beat_schedule_sweeps_mail_and_purges(db):
    from oms.celery import _beat_schedule

    schedule = _beat_schedule()
    assert schedule["documents-mail-sweep"]["task"] == "documents.tasks.mail_sweep"
    assert schedule["documents-purge"]["task"] == "documents.tasks.documents_purge"
    assert tasks.mail_sweep.apply().get() == 0 and tasks.documents_purge.apply().get() == 0

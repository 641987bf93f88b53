"""An order's acknowledgement, shipment notice and invoice: each issued as a PDF filed under the
order and mailed once to the customer with the right PDF attached -- also when the outbox
delivers the events twice -- and listed on the order page."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from billing.models import Invoice
from documents.models import Document, DocumentMail
from documents.states import DocumentStatus, DocumentType
from documents.tasks import mail_sweep
from fulfillment.models import Shipment
from oms.kernel.models import DeliveryStatus, OutboxDelivery
from oms.kernel.roles import role_sync
from tests.documents.helpers import pdf_bytes_text
from tests.support.otp import login_verified
from tests.ui.world import staff_user

from .conftest import advise, order_body, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _run_order(fworld) -> tuple[str, Shipment, Invoice]:
    client = Client()
    number = submit(client, fworld, order_body())["number"]
    settle()
    wake_pauses()
    settle()
    shipment = Shipment.objects.get(order_number=number)
    assert advise(client, fworld, shipment=shipment.number, advice_id="d1").status_code == 200
    settle()
    return number, shipment, Invoice.objects.get(order_number=number)


def _pdf(message) -> tuple[str, str]:
    ((name, content, mimetype),) = message.attachments
    assert mimetype == "application/pdf"
    return name, pdf_bytes_text(content)


def test_confirmation_shipment_notice_and_invoice_are_mailed_once_each_with_their_pdf(fworld):
    number, shipment, invoice = _run_order(fworld)
    mail_sweep()
    by_subject = {m.subject: m for m in mail.outbox}
    assert list(by_subject) == [
        f"Your order {number} is confirmed",
        f"Your order {number} has shipped",
        f"Invoice {invoice.number} for order {number}",
    ]
    name, text = _pdf(by_subject[f"Your order {number} is confirmed"])
    assert name == f"{number}-v1.pdf" and "Order acknowledgement" in text and "DRILL-1" in text
    name, text = _pdf(by_subject[f"Your order {number} has shipped"])
    assert name == f"{shipment.number}-v1.pdf" and "Shipment notice" in text and "1Zd1" in text
    name, text = _pdf(by_subject[f"Invoice {invoice.number} for order {number}"])
    assert name == f"{invoice.number}-v1.pdf" and invoice.number in text and "DRILL-1" in text
    assert f"${invoice.total:,.2f}" in text  # the invoice total, formatted for en_US
    assert all(m.to == ["buyer@customer.example"] for m in mail.outbox)

    documents = Document.objects.filter(related_ref=f"order:{number}")
    assert sorted(documents.values_list("doc_type", flat=True)) == sorted(
        [DocumentType.ORDER_ACKNOWLEDGEMENT, DocumentType.SHIPMENT_NOTICE, DocumentType.INVOICE]
    )
    assert set(documents.values_list("status", flat=True)) == {DocumentStatus.SENT}

    # The outbox delivers every event of the order again: no new document, no new mail.
    replayed = OutboxDelivery.objects.filter(subscriber="fulfillment.customer_emails").update(
        status=DeliveryStatus.PENDING, attempts=0, leased_until=None, lease_token=""
    )
    assert replayed >= 3
    settle()
    mail_sweep()
    assert len(mail.outbox) == 3
    assert Document.objects.filter(related_ref=f"order:{number}").count() == 3
    assert DocumentMail.objects.count() == 3


def test_the_order_page_lists_the_orders_documents(fworld, client):
    number, shipment, invoice = _run_order(fworld)
    role_sync()
    desk = staff_user("desk-docs", "order_desk")
    login_verified(client, desk)
    page = client.get(f"/orders/{number}/").content.decode()
    section = page[page.index("data-documents") :]
    for doc_number in (number, shipment.number, invoice.number):
        assert doc_number in section
    document = Document.objects.get(doc_type=DocumentType.INVOICE, number=invoice.number)
    assert f"/documents/{document.pk}/" in section

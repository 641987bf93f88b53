"""The payments API: finance records offline payments, credits and voids invoices, imports a
statement and reads the aging; a channel authorizes a card for its order and reads its payments;
bad input is a 400 with the field named and nothing written; other callers get 403/404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from billing.models import BankStatement, BillingEvent, CreditMemo, Payment
from billing.services import BillLine, invoice_create
from customers.services import credit_exposure_adjust
from oms.kernel.roles import Role, role_sync
from partners.models import Channel
from partners.services import channel_key_issue
from tests.factories.billing import shipped_order
from tests.support.otp import login_verified

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def finance(db):
    role_sync()
    user = get_user_model().objects.create_user("fin", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FINANCE.label))
    return login_verified(Client(), user)


@pytest.fixture
def billed():
    order = shipped_order(
        currency="USD", lines=[{"quantity": "2", "net": "100.00", "shipping": "0", "tax": "0"}]
    )
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    line = order.lines.get()
    invoice = invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(2))], request_key="api-1")
    return order, invoice


def test_finance_records_a_check_credits_and_reads_the_aging(finance, billed):
    order, invoice = billed
    bad = finance.post(
        "/api/v1/payments/offline",
        {"customer": order.customer_id, "method": "check", "amount": "50.005", "currency": "USD",
         "check_number": "77", "deposit_date": "2026-12-01"},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"
    assert not Payment.objects.exists()
    ok = finance.post(
        "/api/v1/payments/offline",
        {"customer": order.customer_id, "method": "check", "amount": "50.00", "currency": "USD",
         "check_number": "77", "deposit_date": "2026-12-01",
         "allocations": [{"invoice": invoice.number, "amount": "50.00"}]},
        content_type="application/json",
    )  # fmt: skip
    assert (
        ok.status_code == 201
        and ok.json()["status"] == "captured"
        and ok.json()["deposit_date"] == "2026-12-01"
    )
    aging = finance.get("/api/v1/receivables/aging").json()
    assert aging[0]["open_total"] == "50.0000" and aging[0]["current"] == "50.0000"
    memo = finance.post(
        f"/api/v1/invoices/{invoice.number}/credit-memos",
        {"reason": "price adjustment", "refund_to": "store_credit", "key": "k1"},
        content_type="application/json",
    )
    assert memo.status_code == 201 and memo.json()["total"] == "100.0000"
    assert memo.json()["store_credit_amount"] == "50.0000"
    assert CreditMemo.objects.count() == 1
    void = finance.post(
        f"/api/v1/invoices/{invoice.number}/void", {"reason": "x"}, content_type="application/json"
    )
    assert void.status_code == 409  # paid (credited) invoices are not voided


def test_statement_upload_and_its_refusals(finance, billed):
    _, invoice = billed
    good = SimpleUploadedFile(
        "s.csv", f"date,amount,currency,reference\n2026-12-01,{invoice.total},USD,{invoice.number}\n".encode()
    )
    resp = finance.post("/api/v1/statements", {"file": good, "format": "csv", "currency": "USD"})
    assert resp.status_code == 201 and resp.json()["counts"] == {"posted": 1}
    other = SimpleUploadedFile("s.csv", b"date,amount,currency,reference\n2026-12-01,5.00,EUR,x\n")
    resp = finance.post("/api/v1/statements", {"file": other, "format": "csv", "currency": "USD"})
    assert resp.status_code == 400 and "another currency" in resp.json()["message"]
    assert BankStatement.objects.count() == 1


def test_a_channel_authorizes_its_own_orders_only_and_staff_without_finance_is_refused(billed, settings):
    order, invoice = billed
    key = channel_key_issue(channel=order.channel).raw_key
    other = channel_key_issue(channel=Channel.objects.create(code="other", name="Other", type="web")).raw_key
    body = {"method": "card", "token": "pm_card_4242424242424242", "key": "k"}
    path = f"/api/v1/orders/{order.number}/payments"
    resp = Client().post(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert resp.status_code == 400 and resp.json()["fields"]["method"]  # no keys for the channel: off
    assert Client().get(path, HTTP_AUTHORIZATION=f"Api-Key {other}").status_code == 404
    listed = Client().get(path, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert listed.status_code == 200 and listed.json() == {
        "number": order.number,
        "payment_hold": False,
        "payments": [],
    }
    refused = Client().post(
        f"/api/v1/invoices/{invoice.number}/void", {"reason": "x"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )  # fmt: skip
    assert refused.status_code in (401, 403)
    assert not BillingEvent.objects.filter(kind="voided").exists()

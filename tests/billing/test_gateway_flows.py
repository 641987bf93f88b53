"""Card and PayPal through the real provider libraries against the loopback sandbox: authorized at
capture, captured per shipment, refunded by a credit memo, with invoice, payment and open balance
agreeing at every step; declines put the order on a payment hold; a lost capture reply is settled
by reconciliation exactly once; webhooks are verified, deduplicated and order-insensitive."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import BillingEvent, Invoice, Payment, PaymentOperation, WebhookEvent
from billing.services import BillLine, invoice_create
from billing.services.credit_memos import CreditLine, credit_memo_create
from billing.services.payments import (
    order_payment_held,
    payment_authorize,
    payment_capture,
    payments_reconcile,
)
from customers.models import CreditExposure
from customers.services import credit_exposure_adjust
from oms.kernel.exceptions import Conflict, ValidationFailed
from tests.factories.billing import shipped_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LINES = [
    {"quantity": "2", "net": "100.00", "shipping": "5.00", "tax": "8.25"},
    {"quantity": "1", "net": "50.00", "shipping": "2.50", "tax": "4.13"},
]
VISA = "pm_card_4242424242424242"
DECLINED = "pm_card_4000000000000002"


def _order():
    order = shipped_order(currency="USD", lines=LINES)
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    return order


def _bill(order, line_no: int, key: str) -> Invoice:
    line = order.lines.get(line_number=line_no)
    return invoice_create(order_id=order.pk, lines=[BillLine(line.pk, line.quantity)], request_key=key)


def _receivables(order) -> Decimal:
    return CreditExposure.objects.get(customer_id=order.customer_id).open_receivables_amount


def _open_balance(order) -> Decimal:
    return sum(
        (i.open_amount for i in Invoice.objects.filter(customer_id=order.customer_id, status="issued")),
        Decimal(0),
    )


def _agree(order, payment: Payment) -> None:
    payment.refresh_from_db()
    invoices = list(Invoice.objects.filter(order_id=order.pk))
    assert _receivables(order) == _open_balance(order)
    assert payment.allocated_amount == sum((i.amount_paid for i in invoices), Decimal(0))
    assert payment.allocated_amount + payment.refunded_amount == payment.captured_amount
    for i in invoices:
        assert i.open_amount == i.total - i.amount_paid - i.amount_credited >= 0


@pytest.mark.parametrize("method", ["card", "paypal"])
def test_authorized_at_capture_captured_per_shipment_partially_refunded_by_a_credit_memo(sandbox, method):
    order = _order()
    token = (
        VISA if method == "card" else sandbox.paypal_approved_order(amount=str(order.total), currency="USD")
    )
    payment = payment_authorize(order_id=order.pk, method=method, token=token, key=f"auth-{method}")
    assert payment.status == "authorized" and payment.authorized_amount == order.total
    assert _receivables(order) == 0

    first = _bill(order, 1, "ship-1")  # first shipment
    assert _receivables(order) == first.total == _open_balance(order)
    op = payment_capture(payment_id=payment.pk, amount=first.total, key="cap-1", invoice_id=first.pk)
    assert op.status == "succeeded"
    first.refresh_from_db()
    assert first.status == "paid" and _receivables(order) == 0
    _agree(order, payment)

    second = _bill(order, 2, "ship-2")  # second shipment
    assert _receivables(order) == second.total
    payment_capture(payment_id=payment.pk, amount=second.total, key="cap-2", invoice_id=second.pk, final=True)
    _agree(order, payment)
    assert payment.status == "captured" and payment.captured_amount == order.total
    assert [c[0] for c in sandbox.captures] == ["stripe" if method == "card" else "paypal"] * 2

    # A return of one of the two units of line 1: a credit memo refunds it to the card.
    il = first.lines.get()
    memo = credit_memo_create(
        invoice_id=first.pk,
        lines=[CreditLine(il.pk, Decimal(1))],
        reason="returned damaged",
        refund_to="original_payment",
        request_key="rma-1",
    )
    assert memo.total == Decimal("56.63") and memo.refunded_amount == memo.total
    _agree(order, payment)
    first.refresh_from_db()
    assert first.amount_credited == memo.total and first.amount_paid == first.total - memo.total
    assert payment.status == "partially_refunded" and payment.refunded_amount == memo.total
    assert memo.number.startswith("CM-") and first.number.startswith("INV-")
    kinds = set(
        BillingEvent.objects.filter(entity="payment", entity_id=payment.pk).values_list("kind", flat=True)
    )
    assert {"authorized", "captured", "allocated", "refund_requested", "deallocated", "refunded"} <= kinds


def test_capture_above_the_authorization_is_refused_and_writes_nothing(sandbox):
    order = _order()
    payment = payment_authorize(order_id=order.pk, method="card", token=VISA, key="a1", amount="100.00")
    ops = PaymentOperation.objects.count()
    with pytest.raises(ValidationFailed, match="above the authorization"):
        payment_capture(payment_id=payment.pk, amount="100.01", key="too-much")
    assert PaymentOperation.objects.count() == ops and sandbox.captures == []


def test_a_declined_card_holds_the_order_until_a_new_authorization_releases_it(sandbox):
    order = _order()
    declined = payment_authorize(order_id=order.pk, method="card", token=DECLINED, key="a-declined")
    assert declined.status == "failed" and declined.failure_reason == "generic_decline"
    assert order_payment_held(order.pk)
    hold = order.holds.get(hold_code__code="payment")
    assert hold.hold_code.stops == "shipping" and hold.released_at is None
    with pytest.raises(Conflict):
        payment_capture(payment_id=declined.pk, amount="1.00", key="cap-declined")

    again = payment_authorize(order_id=order.pk, method="card", token=VISA, key="a-again")
    assert again.status == "authorized"
    hold.refresh_from_db()
    assert hold.released_at is not None and not order_payment_held(order.pk)


def test_a_lost_capture_reply_is_settled_by_reconciliation_captured_exactly_once(sandbox):
    order = _order()
    invoice = _bill(order, 1, "ship-1")
    payment = payment_authorize(order_id=order.pk, method="card", token=VISA, key="a1")
    sandbox.lose_next_capture_reply()
    op = payment_capture(payment_id=payment.pk, amount=invoice.total, key="cap-lost", invoice_id=invoice.pk)
    assert op.status == "unknown"  # the provider captured; we never heard
    assert len(sandbox.captures) == 1
    payment.refresh_from_db()
    assert payment.captured_amount == 0 and payment.status == "authorized"
    # The step re-running with the same key asks again and gets the first answer.
    assert payments_reconcile(older_than_seconds=0) == 1
    assert payments_reconcile(older_than_seconds=0) == 0  # nothing left unknown
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.captured_amount == invoice.total and invoice.status == "paid"
    assert len(sandbox.captures) == 1  # captured exactly once at the provider
    assert PaymentOperation.objects.get(key="cap-lost").status == "succeeded"
    _agree(order, payment)


def test_a_timeout_on_authorization_is_settled_by_reconciliation(sandbox):
    order = _order()
    sandbox.time_out_next()
    payment = payment_authorize(order_id=order.pk, method="card", token=VISA, key="a-timeout")
    assert payment.status == "pending"
    assert payments_reconcile(older_than_seconds=0) == 1
    payment.refresh_from_db()
    assert payment.status == "authorized" and len(sandbox.intents) == 1


def _post(client, provider, body, headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(
        f"/api/v1/payments/webhooks/{provider}", data=body, content_type="application/json", **extra
    )


@pytest.mark.parametrize("provider", ["stripe", "paypal"])
def test_duplicate_and_out_of_order_webhooks_change_nothing_twice(sandbox, provider):
    order = _order()
    invoice = _bill(order, 1, "ship-1")
    method = "card" if provider == "stripe" else "paypal"
    token = (
        VISA if method == "card" else sandbox.paypal_approved_order(amount=str(order.total), currency="USD")
    )
    payment = payment_authorize(order_id=order.pk, method=method, token=token, key="a1")
    sandbox.lose_next_capture_reply()
    op = payment_capture(payment_id=payment.pk, amount=invoice.total, key="cap-1", invoice_id=invoice.pk)
    assert op.status == "unknown"
    client = Client()
    deliveries = sandbox.webhooks(provider=provider, duplicate=True, reverse=True)
    assert len(deliveries) >= 4
    outcomes = [_post(client, provider, body, headers) for body, headers in deliveries]
    assert all(r.status_code == 200 for r in outcomes)
    assert [r.json()["outcome"] for r in outcomes].count("settled 1") == 1
    assert sum(r.json()["outcome"] == "duplicate" for r in outcomes) == len(deliveries) // 2
    payment.refresh_from_db()
    assert payment.captured_amount == invoice.total and payment.status == "captured"
    assert PaymentOperation.objects.get(key="cap-1").status == "succeeded"
    assert payments_reconcile(older_than_seconds=0) == 0
    _agree(order, payment)


@pytest.mark.parametrize("provider", ["stripe", "paypal"])
def test_a_forged_webhook_is_rejected_with_401_logged_and_changes_nothing(sandbox, provider, caplog):
    order = _order()
    method = "card" if provider == "stripe" else "paypal"
    token = (
        VISA if method == "card" else sandbox.paypal_approved_order(amount=str(order.total), currency="USD")
    )
    payment_authorize(order_id=order.pk, method=method, token=token, key="a1")
    body, headers = sandbox.webhooks(provider=provider)[0]
    forged = body.replace(b'"', b'"', 1)[:-1] + b', "forged": true}'
    before = (WebhookEvent.objects.count(), BillingEvent.objects.count())
    with caplog.at_level(logging.WARNING, logger="oms.billing.payments"):
        response = _post(Client(), provider, forged, headers)
    assert response.status_code == 401
    assert "bad signature" in caplog.text
    assert (WebhookEvent.objects.count(), BillingEvent.objects.count()) == before
    assert _post(Client(), provider, body, {}).status_code == 401  # no signature at all
    assert _post(Client(), provider, body, headers).status_code == 200  # the genuine one passes

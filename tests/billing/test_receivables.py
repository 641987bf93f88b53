"""Receivables: aging buckets and dunning runs against hand-computed cases; credit memos to store
credit; voids of unpaid invoices; cash on delivery from the delivery confirmation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from billing.models import BillingEvent, CreditMemo, DunningNotice, Invoice, Payment, StoreCreditEntry
from billing.services import BillLine, invoice_create, invoice_void
from billing.services.credit_memos import credit_memo_create
from billing.services.payments import Allocation, payment_expect_cod, payment_record_offline
from billing.services.receivables import aging, dunning_run
from customers.models import CreditExposure
from customers.services import credit_exposure_adjust
from oms.kernel import events
from oms.kernel.exceptions import Conflict, IllegalTransition
from tests.factories.billing import shipped_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AS_OF = date(2026, 12, 31)
# days past due -> expected bucket; each invoice's total is 10 * (index + 1)
CASES = [
    (-5, "current"),
    (0, "current"),
    (1, "d1_30"),
    (30, "d1_30"),
    (31, "d31_60"),
    (90, "d61_90"),
    (91, "d90_plus"),
]


def _invoices(n: int, currency: str = "USD"):
    lines = [{"quantity": "1", "net": f"{10 * (i + 1)}.00", "shipping": "0", "tax": "0"} for i in range(n)]
    order = shipped_order(currency=currency, lines=lines)
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    out = []
    for line in order.lines.order_by("line_number"):
        out.append(
            invoice_create(
                order_id=order.pk, lines=[BillLine(line.pk, Decimal(1))], request_key=f"i{line.pk}"
            )
        )
    return order, out


def test_aging_buckets_match_hand_computed_cases():
    order, invoices = _invoices(len(CASES))
    for inv, (days, _) in zip(invoices, CASES, strict=True):
        Invoice.objects.filter(pk=inv.pk).update(due_date=AS_OF - timedelta(days=days))
    # A partial payment on the 31-60 invoice (50.00) leaves 20.00 there.
    payment_record_offline(
        customer_id=order.customer_id,
        method="bank_transfer",
        amount="30.00",
        currency="USD",
        allocations=[Allocation(invoices[4].pk, "30.00")],
    )
    [row] = aging(as_of=AS_OF, customer_id=order.customer_id)
    assert row["current"] == Decimal("30.00")  # 10 + 20
    assert row["d1_30"] == Decimal("70.00")  # 30 + 40
    assert row["d31_60"] == Decimal("20.00")  # 50 - 30 paid
    assert row["d61_90"] == Decimal("60.00")
    assert row["d90_plus"] == Decimal("70.00")
    assert (
        row["open_total"]
        == Decimal("250.00")
        == sum((row[b] for b in ("current", "d1_30", "d31_60", "d61_90", "d90_plus")), Decimal(0))
    )
    exposure = CreditExposure.objects.get(customer_id=order.customer_id)
    assert exposure.open_receivables_amount == row["open_total"]


def test_dunning_sends_the_level_reached_once_per_invoice_and_level(settings):
    settings.OMS_DUNNING_LEVELS = {"1": 7, "2": 21, "3": 45}
    order, invoices = _invoices(4)
    order.customer.email = "ap@example.com"
    order.customer.save()
    for inv, days in zip(invoices, [6, 7, 30, 50], strict=True):
        Invoice.objects.filter(pk=inv.pk).update(due_date=AS_OF - timedelta(days=days))
    assert dunning_run(as_of=AS_OF) == 3
    sent = {(n.invoice_id, n.level) for n in DunningNotice.objects.all()}
    assert sent == {(invoices[1].pk, 1), (invoices[2].pk, 2), (invoices[3].pk, 3)}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ap@example.com"]
    assert invoices[2].number in mail.outbox[0].body and invoices[0].number not in mail.outbox[0].body
    assert dunning_run(as_of=AS_OF) == 0  # a re-run the same day sends nothing twice
    assert len(mail.outbox) == 1
    # Fifteen days later: 6 -> 21 (level 2; level 1 is not sent late), 7 -> 22 (2), 30 -> 45 (3),
    # 50 -> 65 (done).
    assert dunning_run(as_of=AS_OF + timedelta(days=15)) == 3
    sent = {(n.invoice_id, n.level) for n in DunningNotice.objects.all()}
    assert {(invoices[0].pk, 2), (invoices[1].pk, 2), (invoices[2].pk, 3)} <= sent
    assert not DunningNotice.objects.filter(invoice=invoices[0], level=1).exists()
    # A paid invoice is not reminded.
    payment_record_offline(
        customer_id=order.customer_id,
        method="bank_transfer",
        amount=str(invoices[3].total),
        currency="USD",
        order_id=order.pk,
    )
    assert dunning_run(as_of=AS_OF + timedelta(days=60)) >= 0
    assert not DunningNotice.objects.filter(invoice=invoices[3], level__gt=3).exists()


def test_credit_memo_to_store_credit_and_void_of_an_unpaid_invoice_keep_numbers_and_trail():
    order, (a, b) = _invoices(2)
    payment_record_offline(
        customer_id=order.customer_id,
        method="bank_transfer",
        amount=str(a.total),
        currency="USD",
        allocations=[Allocation(a.pk, a.total)],
    )
    memo = credit_memo_create(
        invoice_id=a.pk, reason="goodwill", refund_to="store_credit", request_key="cm-1"
    )
    assert memo.total == a.total and memo.store_credit_amount == a.total
    assert StoreCreditEntry.objects.get(reference=f"credit_memo:{memo.number}").amount == a.total
    a.refresh_from_db()
    assert a.amount_credited == a.total and a.amount_paid == 0 and a.status == "paid"
    # Store credit pays the other invoice.
    payment_record_offline(
        customer_id=order.customer_id,
        method="store_credit",
        amount=str(a.total),
        currency="USD",
        order_id=order.pk,
    )
    b.refresh_from_db()
    assert b.amount_paid == a.total and b.open_amount == b.total - a.total
    assert sum(StoreCreditEntry.objects.values_list("amount", flat=True)) == 0
    assert CreditMemo.objects.filter(invoice=a).count() == 1
    # Void: an unpaid invoice only; its number stays taken, the next invoice gets a new one.
    order2, (c,) = _invoices(1)
    void = invoice_void(invoice_id=c.pk, actor="user:finance", reason="billed in error")
    assert void.status == "void" and Invoice.objects.filter(number=c.number).exists()
    assert CreditExposure.objects.get(customer_id=order2.customer_id).open_receivables_amount == 0
    assert BillingEvent.objects.filter(entity="invoice", entity_id=c.pk, kind="voided").exists()
    with pytest.raises((Conflict, IllegalTransition)):
        invoice_void(invoice_id=a.pk, actor="user:finance", reason="no")


def test_cod_payment_recorded_on_delivery_confirmation_and_the_invoice_becomes_paid():
    order, (inv,) = _invoices(1)
    expected = payment_expect_cod(order_id=order.pk)
    events.publish(
        "shipment.delivered",
        {"number": order.number, "channel": "billing-test", "shipment": "SH-1", "note": ""},
    )
    events.relay_run()
    inv.refresh_from_db()
    assert inv.status == "paid"
    cod = Payment.objects.get(source_key="cod:SH-1")
    assert cod.method == "cod" and cod.captured_amount == inv.total and cod.allocated_amount == inv.total
    events.publish(
        "shipment.delivered",
        {"number": order.number, "channel": "billing-test", "shipment": "SH-1", "note": ""},
    )
    events.relay_run()
    assert Payment.objects.filter(method="cod", status="captured").count() == 1
    assert CreditExposure.objects.get(customer_id=order.customer_id).open_receivables_amount == 0
    expected.refresh_from_db()
    assert expected.status == "pending"

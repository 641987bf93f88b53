"""Payments: the transition table, money in the order's currency, allocations split both ways,
audit events, offline receipts, and the bad inputs the issue names (nothing written)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from billing.models import BillingEvent, Invoice, Payment, PaymentAllocation
from billing.services import BillLine, invoice_create
from billing.services.common import money_in
from billing.services.payments import Allocation, payment_allocate, payment_record_offline, payment_refund
from billing.states import PAYMENT_TRANSITIONS, PaymentStatus, ensure_payment_transition
from customers.models import CreditExposure
from customers.services import credit_exposure_adjust
from oms.kernel.exceptions import IllegalTransition, ValidationFailed
from tests.factories.billing import shipped_order

LINES = [
    {"quantity": "2", "net": "100.00", "shipping": "5.00", "tax": "8.25"},
    {"quantity": "1", "net": "50.00", "shipping": "2.50", "tax": "4.13"},
]


@pytest.mark.unit
def test_every_pair_outside_the_payment_table_is_refused():
    for current, target in itertools.product(PaymentStatus.values, repeat=2):
        if target in PAYMENT_TRANSITIONS[current]:
            ensure_payment_transition(current, target)
        else:
            with pytest.raises(IllegalTransition):
                ensure_payment_transition(current, target)
    assert not PAYMENT_TRANSITIONS[PaymentStatus.REFUNDED]
    assert PaymentStatus.CAPTURED in PAYMENT_TRANSITIONS[PaymentStatus.CAPTURED]  # partial captures


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "currency", "ok"),
    [("10.00", "USD", True), ("10.001", "USD", False), ("1000", "JPY", True), ("1000.5", "JPY", False),
     ("1.234", "KWD", True), ("1.2345", "KWD", False), ("-1", "USD", False), ("abc", "USD", False)],
)  # fmt: skip
def test_amounts_have_at_most_the_currencys_decimals(value, currency, ok):
    if ok:
        assert money_in(value, currency) == Decimal(value)
    else:
        with pytest.raises(ValidationFailed):
            money_in(value, currency)
    with pytest.raises(ValidationFailed):
        money_in(1.5, "USD")


def _two_invoices(currency="USD"):
    order = shipped_order(currency=currency, lines=LINES)
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    l1, l2 = order.lines.order_by("line_number")
    a = invoice_create(order_id=order.pk, lines=[BillLine(l1.pk, Decimal(2))], request_key=f"{order.pk}-a")
    b = invoice_create(order_id=order.pk, lines=[BillLine(l2.pk, Decimal(1))], request_key=f"{order.pk}-b")
    return order, a, b


def _exposure(customer_id) -> Decimal:
    return CreditExposure.objects.get(customer_id=customer_id).open_receivables_amount


def _open(customer_id) -> Decimal:
    return sum(
        (i.open_amount for i in Invoice.objects.filter(customer_id=customer_id, status="issued")), Decimal(0)
    )


@pytest.mark.integration
@pytest.mark.django_db
def test_one_payment_split_over_two_invoices_and_one_invoice_paid_by_two_payments():
    order, a, b = _two_invoices()
    assert _exposure(order.customer_id) == a.total + b.total == order.total
    # One transfer pays invoice A whole and half of B.
    half_b = Decimal("28.32")
    first = payment_record_offline(
        customer_id=order.customer_id,
        method="bank_transfer",
        amount=a.total + half_b,
        currency="USD",
        allocations=[Allocation(a.pk, a.total), Allocation(b.pk, half_b)],
        reference=f"{a.number} {b.number}",
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == "paid" and b.status == "issued" and b.open_amount == b.total - half_b
    assert _exposure(order.customer_id) == _open(order.customer_id) == b.total - half_b
    # A check pays the rest of B: B is paid by two payments.
    second = payment_record_offline(
        customer_id=order.customer_id,
        method="check",
        amount=b.open_amount,
        currency="USD",
        check_number="100234",
        deposit_date=date(2026, 12, 1),
        order_id=order.pk,
    )
    b.refresh_from_db()
    assert b.status == "paid" and b.amount_paid == b.total
    assert {x.payment_id for x in PaymentAllocation.objects.filter(invoice=b)} == {first.pk, second.pk}
    assert _exposure(order.customer_id) == 0 == _open(order.customer_id)
    assert first.allocated_amount == first.captured_amount
    kinds = list(
        BillingEvent.objects.filter(entity="payment", entity_id=first.pk).values_list("kind", flat=True)
    )
    assert kinds == ["received", "allocated", "allocated"]
    assert BillingEvent.objects.filter(entity="invoice", entity_id=b.pk, kind="paid").count() == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_bad_inputs_write_nothing():
    order, a, _ = _two_invoices()
    counts = (Payment.objects.count(), PaymentAllocation.objects.count(), BillingEvent.objects.count())
    with pytest.raises(ValidationFailed, match="decimals"):
        payment_record_offline(
            customer_id=order.customer_id, method="bank_transfer", amount="10.001", currency="USD"
        )
    with pytest.raises(ValidationFailed, match="open amount"):
        payment_record_offline(
            customer_id=order.customer_id,
            method="bank_transfer",
            amount=a.total + 1,
            currency="USD",
            allocations=[Allocation(a.pk, a.total + 1)],
        )
    with pytest.raises(ValidationFailed, match="currenc"):
        payment_record_offline(
            customer_id=order.customer_id,
            method="bank_transfer",
            amount="5",
            currency="EUR",
            order_id=order.pk,
        )
    with pytest.raises(ValidationFailed, match="check"):
        payment_record_offline(customer_id=order.customer_id, method="check", amount="5", currency="USD")
    assert (
        Payment.objects.count(),
        PaymentAllocation.objects.count(),
        BillingEvent.objects.count(),
    ) == counts


@pytest.mark.integration
@pytest.mark.django_db
def test_a_refund_above_what_was_captured_or_of_allocated_money_is_refused():
    order, a, _ = _two_invoices()
    pay = payment_record_offline(
        customer_id=order.customer_id, method="bank_transfer", amount=a.total + 10, currency="USD"
    )
    payment_allocate(payment_id=pay.pk, invoice_id=a.pk, amount=a.total)
    with pytest.raises(ValidationFailed, match="above what was captured"):
        payment_refund(payment_id=pay.pk, amount=a.total + 11, key="r-too-much", reason="x")
    with pytest.raises(ValidationFailed, match="credit memo"):
        payment_refund(payment_id=pay.pk, amount="10.01", key="r-allocated", reason="x")
    op = payment_refund(payment_id=pay.pk, amount="10.00", key="r-ok", reason="overpaid")
    pay.refresh_from_db()
    assert op.status == "succeeded" and pay.status == "partially_refunded" and pay.refunded_amount == 10

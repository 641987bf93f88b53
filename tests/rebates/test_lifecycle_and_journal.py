"""The program transition table is the only way through the lifecycle; the journal refuses an
unbalanced entry and writes nothing; posting twice posts once; a purchase-order receipt accrues
a receipts-based supplier rebate through the outbox, once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.services.purchasing import (
    PurchaseLineInput,
    ReceiptInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_transition,
)
from oms.kernel import events
from oms.kernel.exceptions import IllegalTransition
from rebates.models import Accrual, JournalEntry, JournalLine, ProgramType
from rebates.services.journal import LineInput, Unbalanced, movement_lines, post_entry
from rebates.states import PROGRAM_TRANSITIONS, ProgramStatus, ensure_program_transition

from .conftest import program

D = Decimal


@pytest.mark.unit
def test_every_program_transition_not_in_the_table_is_refused():
    for current in ProgramStatus.values:
        for target in ProgramStatus.values:
            if target in PROGRAM_TRANSITIONS[current]:
                ensure_program_transition(current, target)
            else:
                with pytest.raises(IllegalTransition):
                    ensure_program_transition(current, target)


@pytest.mark.unit
def test_movement_lines_balance_and_swap_sides_for_negative_amounts():
    codes = {ProgramType.SUPPLIER_REBATE: {"accrued": "1350", "earned": "5150", "settle_check": "1010"}}
    plus = movement_lines(
        program_type=ProgramType.SUPPLIER_REBATE, kind="accrual", amount=D("5"), codes=codes
    )
    minus = movement_lines(
        program_type=ProgramType.SUPPLIER_REBATE, kind="reversal", amount=D("-5"), codes=codes
    )
    assert [(ln.account, ln.debit, ln.credit) for ln in plus] == [("1350", D(5), D(0)), ("5150", D(0), D(5))]
    assert [(ln.account, ln.debit, ln.credit) for ln in minus] == [("5150", D(5), D(0)), ("1350", D(0), D(5))]


@pytest.mark.integration
@pytest.mark.django_db
def test_an_unbalanced_entry_is_refused_and_nothing_is_written():
    with pytest.raises(Unbalanced):
        post_entry(
            kind="settlement",
            source_type="test",
            source_id="1",
            entry_date=date(2026, 1, 1),
            currency="USD",
            lines=[LineInput("1010", debit=D("10.00")), LineInput("1350", credit=D("9.99"))],
        )
    with pytest.raises(Unbalanced):
        post_entry(
            kind="settlement",
            source_type="test",
            source_id="2",
            entry_date=date(2026, 1, 1),
            currency="USD",
            lines=[LineInput("1010", debit=D("10.00"), credit=D("10.00"))],
        )
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db
def test_a_foreign_currency_entry_balances_in_the_functional_currency_and_posts_once():
    lines = [
        LineInput("1010", debit=D("100.00")),
        LineInput("1350", credit=D("33.33")),
        LineInput("1351", credit=D("33.33")),
        LineInput("1352", credit=D("33.34")),
    ]
    first = post_entry(
        kind="settlement",
        source_type="test",
        source_id="fx",
        entry_date=date(2026, 1, 1),
        currency="EUR",
        fx_rate=D("1.0777"),
        lines=lines,
    )
    again = post_entry(
        kind="settlement",
        source_type="test",
        source_id="fx",
        entry_date=date(2026, 1, 1),
        currency="EUR",
        fx_rate=D("1.0777"),
        lines=lines,
    )
    assert again.pk == first.pk and JournalEntry.objects.count() == 1
    rows = list(first.lines.all())
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows) == D("100.00")
    assert sum(r.functional_debit for r in rows) == sum(r.functional_credit for r in rows) == D("107.77")


@pytest.mark.integration
@pytest.mark.django_db
def test_a_purchase_order_receipt_accrues_a_receipts_rebate_through_the_outbox_once(rworld):
    p = program(
        code="recv",
        program_type=ProgramType.SUPPLIER_REBATE,
        supplier=rworld.supplier,
        basis="receipts",
        calc_method="percent",
        tier_measure="value",
        tier_mode="stepped",
        tiers=[(0, None, 3)],
        start_date=date(2026, 1, 1),
        end_date=date(2027, 12, 31),
    )
    po = purchase_order_create(
        supplier_id=rworld.supplier.pk,
        warehouse_id=rworld.warehouse.pk,
        lines=[PurchaseLineInput(product_id=rworld.drill.pk, quantity=D(10), unit_cost=D("20.00"))],
    )
    for target in ("approved", "sent"):
        purchase_order_transition(purchase_order_id=po.pk, target=target)
    line = po.lines.get()
    with transaction.atomic():
        purchase_order_receive(purchase_order_id=po.pk, lines=[ReceiptInput(line_id=line.pk, quantity=D(4))])
    events.relay_run()
    events.relay_run()
    (a,) = Accrual.objects.filter(program=p)
    assert (a.source_type, a.quantity, a.value, a.amount) == ("receipt", D(4), D("80.00"), D("2.40"))
    assert a.document == f"PO-{po.pk:06d}" and a.source_date == timezone.localdate()

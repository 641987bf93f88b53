"""Test data for claims and the checkbook: programs as finance leaves them (active), and accruals
written with their journal entry through the journal service, as the accrual engine posts them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F, Q, Sum

from oms.kernel.roles import Role, role_sync
from rebates.models import (
    Accrual,
    AccrualKind,
    EntryKind,
    JournalLine,
    ProgramTier,
    ProgramType,
    RebateProgram,
    SourceType,
)
from rebates.services.journal import account_for, movement_lines, post_entry
from rebates.states import ProgramStatus
from tests.factories.catalog import ProductFactory, SupplierFactory
from tests.factories.customers import CustomerFactory


def finance_user(username: str = "fin"):
    role_sync()
    user = get_user_model().objects.create_user(username=username, password="x-correct-horse", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FINANCE.label))
    return user


def program(
    *, code="SR-1", program_type=ProgramType.SUPPLIER_REBATE, supplier=None, customer=None, currency="USD",
    budget=None, tiers=(), period="quarter", start=date(2026, 1, 1), end=date(2026, 12, 31),
) -> RebateProgram:  # fmt: skip
    if program_type == ProgramType.CUSTOMER_VOLUME:
        customer = customer or CustomerFactory()
    else:
        supplier = supplier or SupplierFactory()
    p = RebateProgram.objects.create(
        code=code,
        name=f"Program {code}",
        program_type=program_type,
        status=ProgramStatus.ACTIVE,
        currency=currency,
        supplier=supplier,
        customer=customer,
        start_date=start,
        end_date=end,
        budget_cap=budget,
        period=period,
    )
    for lower, upper, rate in tiers:
        ProgramTier.objects.create(
            program=p,
            lower=Decimal(lower),
            upper=None if upper is None else Decimal(upper),
            rate=Decimal(rate),
        )
    return p


_seq = [0]


def accrue(
    p: RebateProgram, amount: str, *, on=date(2026, 2, 10), fx: str = "1", kind=AccrualKind.ACCRUAL,
    reverses: Accrual | None = None, customer=None, supplier=None, quantity="10", value="100",
    source_type=SourceType.INVOICE_LINE, source_id: str | None = None,
) -> Accrual:  # fmt: skip
    """One accrual and its journal entry (Dr accrued / Cr earned on the supplier side)."""
    _seq[0] += 1
    amount_d = Decimal(amount)
    fx_d = Decimal(fx)
    a = Accrual.objects.create(
        program=p,
        kind=kind,
        source_type=source_type,
        source_id=source_id or f"t{_seq[0]}",
        event_key=f"e{_seq[0]}" if kind == AccrualKind.REVERSAL else "",
        reverses=reverses,
        supplier=supplier if supplier is not None else p.supplier,
        customer=customer if customer is not None else p.customer,
        product=ProductFactory(),
        document=f"DOC-{_seq[0]}",
        source_date=on,
        period_start=date(on.year, 3 * ((on.month - 1) // 3) + 1, 1),
        period_end=date(on.year, 3 * ((on.month - 1) // 3) + 3, 28),
        quantity=Decimal(quantity),
        value=Decimal(value),
        rate=Decimal("5"),
        amount=amount_d,
        currency=p.currency,
        functional_amount=(amount_d * fx_d).quantize(Decimal("0.01")),
        functional_currency="USD",
        functional_fx_rate=fx_d,
    )
    # As the accrual engine does in the same transaction: the program's running total.
    RebateProgram.objects.filter(pk=p.pk).update(accrued_amount=F("accrued_amount") + amount_d)
    post_entry(
        kind=EntryKind.ACCRUAL if kind == AccrualKind.ACCRUAL else EntryKind.REVERSAL,
        source_type="test_accrual",
        source_id=str(a.pk),
        entry_date=on,
        currency=p.currency,
        lines=movement_lines(program_type=p.program_type, kind=EntryKind.ACCRUAL, amount=amount_d),
        program_id=p.pk,
        fx_rate=fx_d,
    )
    return a


def journal_accrued_balance(p: RebateProgram) -> Decimal:
    """The program's accrued account balance in the journal, on the side it accrues (receivable
    for the supplier side, liability for the customer side)."""
    account = account_for(p.program_type, "accrued")
    agg = JournalLine.objects.filter(entry__program=p, account=account).aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    d, c = agg["d"] or Decimal(0), agg["c"] or Decimal(0)
    return d - c if p.supplier_side else c - d


def journal_totals(p: RebateProgram | None = None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    qs = JournalLine.objects.all()
    if p is not None:
        qs = qs.filter(Q(entry__program=p))
    agg = qs.aggregate(
        d=Sum("debit"), c=Sum("credit"), fd=Sum("functional_debit"), fc=Sum("functional_credit")
    )
    return tuple(agg[k] or Decimal(0) for k in ("d", "c", "fd", "fc"))

"""The rebates subledger: one function posts a balanced entry; helpers give the account codes and
the standard debit/credit pair of each movement (accrual, reversal, adjustment, settlement,
write-off) per program type.

Sign convention: a supplier-side program (supplier rebate, ship-and-debit, price protection)
accrues a receivable (Dr accrued / Cr earned: a cost of goods reduction); a customer volume
rebate accrues a liability (Dr earned: a sales rebate, contra revenue / Cr accrued). A reversal
or a negative adjustment swaps the sides. A settlement clears the accrued balance against cash,
a credit memo or a payable; a write-off clears it against the write-off account.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import round_money, to_decimal, validate_currency

from ..models import (
    SUPPLIER_SIDE,
    AccountCode,
    AccountRole,
    EntryKind,
    JournalEntry,
    JournalLine,
    PayoutMethod,
    ProgramType,
)

# Default chart (a typical distributor's): finance overrides any of them with AccountCode rows.
_SUPPLIER_DEFAULTS = {
    AccountRole.SETTLE_CHECK: "1010",  # cash
    AccountRole.SETTLE_CREDIT_MEMO: "2010",  # accounts payable: the supplier's credit memo
    AccountRole.SETTLE_DEDUCTION: "2010",  # accounts payable: deducted from what we owe
    AccountRole.WRITE_OFF: "6850",  # rebate write-offs (expense)
}
DEFAULT_ACCOUNTS: dict[str, dict[str, str]] = {
    ProgramType.SUPPLIER_REBATE: {
        AccountRole.ACCRUED: "1350",  # vendor rebates receivable
        AccountRole.EARNED: "5150",  # cost of goods sold - vendor rebates
        **_SUPPLIER_DEFAULTS,
    },
    ProgramType.SHIP_AND_DEBIT: {
        AccountRole.ACCRUED: "1355",  # ship-and-debit receivable
        AccountRole.EARNED: "5160",  # cost of goods sold - ship-and-debit
        **_SUPPLIER_DEFAULTS,
    },
    ProgramType.PRICE_PROTECTION: {
        AccountRole.ACCRUED: "1360",  # price protection receivable
        AccountRole.EARNED: "1400",  # inventory (the stock's cost comes down)
        **_SUPPLIER_DEFAULTS,
    },
    ProgramType.CUSTOMER_VOLUME: {
        AccountRole.ACCRUED: "2350",  # accrued customer rebates (liability)
        AccountRole.EARNED: "4150",  # sales rebates (contra revenue)
        AccountRole.SETTLE_CHECK: "1010",  # cash
        AccountRole.SETTLE_CREDIT_MEMO: "1200",  # accounts receivable: a credit memo to the customer
        AccountRole.SETTLE_DEDUCTION: "1200",  # accounts receivable
        AccountRole.WRITE_OFF: "4190",  # customer rebates forfeited (reduces the rebate expense)
    },
}

SETTLEMENT_ROLE = {
    PayoutMethod.CHECK: AccountRole.SETTLE_CHECK,
    PayoutMethod.CREDIT_MEMO: AccountRole.SETTLE_CREDIT_MEMO,
    PayoutMethod.DEDUCTION: AccountRole.SETTLE_DEDUCTION,
}


@dataclass(frozen=True)
class LineInput:
    """One line to post: exactly one of debit / credit is non-zero (entry currency)."""

    account: str
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    memo: str = ""


class Unbalanced(ValidationFailed):
    code = "unbalanced_entry"


def functional_currency() -> str:
    return validate_currency(getattr(settings, "OMS_FUNCTIONAL_CURRENCY", "USD"))


def account_codes() -> dict[str, dict[str, str]]:
    """Every program type's role -> account code: the defaults with finance's overrides (1 query)."""
    out = {ptype: dict(roles) for ptype, roles in DEFAULT_ACCOUNTS.items()}
    for ptype, role, account in AccountCode.objects.values_list("program_type", "role", "account"):
        out.setdefault(ptype, {})[role] = account
    return out


def account_for(program_type: str, role: str, *, codes: dict[str, dict[str, str]] | None = None) -> str:
    codes = codes if codes is not None else account_codes()
    return codes[program_type][role]


def movement_lines(
    *,
    program_type: str,
    kind: str,
    amount: Decimal,
    payout_method: str | None = None,
    codes: dict[str, dict[str, str]] | None = None,
    memo: str = "",
) -> list[LineInput]:
    """The two lines of a standard movement of `amount` (signed; its sign chooses the direction):

    - ACCRUAL / REVERSAL / ADJUSTMENT: supplier side Dr accrued / Cr earned, customer side
      Dr earned / Cr accrued (a negative amount swaps them);
    - SETTLEMENT (`payout_method` required): supplier side Dr settle_<method> / Cr accrued,
      customer side Dr accrued / Cr settle_<method>;
    - WRITE_OFF: supplier side Dr write_off / Cr accrued, customer side Dr accrued / Cr write_off.
    """
    codes = codes if codes is not None else account_codes()
    roles = codes[program_type]
    supplier = program_type in SUPPLIER_SIDE
    if kind in (EntryKind.ACCRUAL, EntryKind.REVERSAL, EntryKind.ADJUSTMENT):
        dr, cr = (
            (AccountRole.ACCRUED, AccountRole.EARNED)
            if supplier
            else (AccountRole.EARNED, AccountRole.ACCRUED)
        )
    elif kind == EntryKind.SETTLEMENT:
        if payout_method not in SETTLEMENT_ROLE:
            raise ValidationFailed("A settlement needs its method.", fields={"method": ["Required."]})
        other = SETTLEMENT_ROLE[payout_method]
        dr, cr = (other, AccountRole.ACCRUED) if supplier else (AccountRole.ACCRUED, other)
    elif kind == EntryKind.WRITE_OFF:
        dr, cr = (
            (AccountRole.WRITE_OFF, AccountRole.ACCRUED)
            if supplier
            else (AccountRole.ACCRUED, AccountRole.WRITE_OFF)
        )
    else:
        raise ValidationFailed(f"Unknown entry kind '{kind}'.", fields={"kind": ["Unknown."]})
    amount = to_decimal(amount)
    if amount < 0:
        dr, cr, amount = cr, dr, -amount
    return [
        LineInput(account=roles[dr], debit=amount, memo=memo),
        LineInput(account=roles[cr], credit=amount, memo=memo),
    ]


def _functional_sides(
    lines: Sequence[LineInput], rate: Decimal, currency: str
) -> list[tuple[Decimal, Decimal]]:
    """Convert each line, then put any rounding difference on the largest line of the short
    side, so the entry balances in the functional currency too."""
    out = [(round_money(ln.debit * rate, currency), round_money(ln.credit * rate, currency)) for ln in lines]
    diff = sum(d for d, _ in out) - sum(c for _, c in out)
    if diff:
        side = 1 if diff > 0 else 0  # debits larger: raise the largest credit, and vice versa
        idx = max(range(len(out)), key=lambda i: out[i][side])
        d, c = out[idx]
        out[idx] = (d + (-diff if side == 0 else 0), c + (diff if side == 1 else 0))
    return out


def post_entry(
    *,
    kind: str,
    source_type: str,
    source_id: str,
    entry_date: date,
    currency: str,
    lines: Sequence[LineInput],
    program_id: int | None = None,
    fx_rate: Decimal | None = None,
    memo: str = "",
) -> JournalEntry:
    """Post one balanced entry (idempotent per `(source_type, source_id)`: posting the same
    source again returns the entry already posted). `fx_rate` converts 1 `currency` into the
    functional currency (defaults to 1 when they are the same; required otherwise).

    Raises `Unbalanced` when debits != credits, a line has both or neither side, or an amount is
    negative; nothing is written then. Runs inside the caller's transaction (or its own)."""
    currency = validate_currency(currency)
    func = functional_currency()
    if fx_rate is None:
        if currency != func:
            raise ValidationFailed(
                f"An entry in {currency} needs the rate to {func}.", fields={"fx_rate": ["Required."]}
            )
        fx_rate = Decimal(1)
    fx_rate = to_decimal(fx_rate)
    if not lines:
        raise Unbalanced("An entry needs lines.", fields={"lines": ["Required."]})
    rounded = [
        LineInput(ln.account, round_money(ln.debit, currency), round_money(ln.credit, currency), ln.memo)
        for ln in lines
    ]
    for i, ln in enumerate(rounded):
        if ln.debit < 0 or ln.credit < 0 or (ln.debit == 0) == (ln.credit == 0) or not ln.account:
            raise Unbalanced(
                "Each line has an account and one positive side.", fields={f"lines[{i}]": ["Invalid."]}
            )
    debit = sum(ln.debit for ln in rounded)
    credit = sum(ln.credit for ln in rounded)
    if debit != credit:
        raise Unbalanced(f"Debits {debit} != credits {credit}.", fields={"lines": ["Not balanced."]})
    functional = _functional_sides(rounded, fx_rate, func)
    existing = JournalEntry.objects.filter(source_type=source_type, source_id=str(source_id)).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                kind=kind,
                source_type=source_type,
                source_id=str(source_id),
                program_id=program_id,
                entry_date=entry_date,
                currency=currency,
                functional_currency=func,
                fx_rate=fx_rate,
                memo=memo[:300],
            )
            JournalLine.objects.bulk_create(
                JournalLine(
                    entry=entry,
                    account=ln.account,
                    debit=ln.debit,
                    credit=ln.credit,
                    functional_debit=fd,
                    functional_credit=fc,
                    memo=ln.memo[:200],
                )
                for ln, (fd, fc) in zip(rounded, functional, strict=True)
            )
    except IntegrityError:
        # A concurrent posting of the same source won the unique constraint.
        return JournalEntry.objects.get(source_type=source_type, source_id=str(source_id))
    return entry


def entry_totals(entry_ids: Iterable[int] | None = None) -> dict[str, Decimal]:
    """Debits and credits (entry and functional currency) over the given entries (all: None)."""
    qs = JournalLine.objects.all()
    if entry_ids is not None:
        qs = qs.filter(entry_id__in=list(entry_ids))
    agg = qs.aggregate(
        debit=Sum("debit"),
        credit=Sum("credit"),
        fdebit=Sum("functional_debit"),
        fcredit=Sum("functional_credit"),
    )
    return {k: v or Decimal("0") for k, v in agg.items()}


@dataclass(frozen=True)
class EntrySpec:
    """One entry for `post_entries_bulk`: the standard movement of `amount` for a program."""

    kind: str
    source_type: str
    source_id: str
    program_id: int
    program_type: str
    entry_date: date
    currency: str
    amount: Decimal
    fx_rate: Decimal
    memo: str = ""


def post_entries_bulk(specs: Sequence[EntrySpec]) -> list[JournalEntry]:
    """Post many standard two-line entries in two INSERTs (the accrual engine's path: one entry
    per program and run). Same rules as `post_entry`: balanced in both currencies, rounded
    once; a zero amount posts nothing (None in its place). Returns the entries in spec order."""
    if not specs:
        return []
    codes = account_codes()
    func = functional_currency()
    entries: list[JournalEntry] = []
    line_sets: list[list[tuple[LineInput, tuple[Decimal, Decimal]]]] = []
    for spec in specs:
        currency = validate_currency(spec.currency)
        amount = round_money(spec.amount, currency)
        if not amount:
            entries.append(None)
            line_sets.append([])
            continue
        lines = movement_lines(program_type=spec.program_type, kind=spec.kind, amount=amount, codes=codes)
        functional = _functional_sides(lines, to_decimal(spec.fx_rate), func)
        entries.append(
            JournalEntry(
                kind=spec.kind,
                source_type=spec.source_type,
                source_id=spec.source_id,
                program_id=spec.program_id,
                entry_date=spec.entry_date,
                currency=currency,
                functional_currency=func,
                fx_rate=spec.fx_rate,
                memo=spec.memo[:300],
            )
        )
        line_sets.append(list(zip(lines, functional, strict=True)))
    JournalEntry.objects.bulk_create([e for e in entries if e is not None])
    JournalLine.objects.bulk_create(
        JournalLine(
            entry=entry,
            account=ln.account,
            debit=ln.debit,
            credit=ln.credit,
            functional_debit=fd,
            functional_credit=fc,
            memo=ln.memo[:200],
        )
        for entry, pairs in zip(entries, line_sets, strict=True)
        if entry is not None
        for ln, (fd, fc) in pairs
    )
    return entries

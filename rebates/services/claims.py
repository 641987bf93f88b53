"""Claims: generated from unclaimed accruals per program and counterparty (the supplier that pays a
supplier-side program, or the customer a customer volume rebate is paid to), tracked through
submit / approve / dispute to settlement.

- Generation is set-based: one INSERT ... SELECT of the lines per claim and one conditional UPDATE
  that marks the accruals claimed (its row count is checked: an accrual marked meanwhile rolls the
  whole run back). Two runs for one program are serialized by a transaction-level advisory lock
  on PostgreSQL (SQLite serializes writers anyway).
- A partial settlement settles the claim for what was paid. A remainder at or below the write-off
  threshold (`OMS_REBATE_WRITE_OFF_THRESHOLD`, in the claim's currency) is written off; a larger
  one moves into a child claim (submitted) whose lines carry it, spread over the claim's positive
  lines by largest remainder, so "claimed" still counts every amount once.
- Every settlement and write-off posts a balanced journal entry through `post_entry`, so the
  program's accrued balance in the journal is always the checkbook's outstanding figure.
- Every change writes a `RebateEvent` (object_type "claim").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from oms.kernel import events
from oms.kernel.exceptions import Conflict, NotFound, PermissionDenied, StaleRevision, ValidationFailed
from oms.kernel.money import allocate, quantum
from oms.kernel.roles import Role, user_has_role

from ..models import (
    SUPPLIER_SIDE,
    Accrual,
    Claim,
    ClaimLine,
    ClaimSettlement,
    EntryKind,
    PayoutMethod,
    RebateProgram,
)
from ..states import (
    CLAIM_PENDING_STATUSES,
    ClaimStatus,
    DisputeReason,
    ensure_claim_transition,
)
from .audit import event_record
from .claim_marks import accruals_mark_claimed, accruals_release_claim
from .journal import movement_lines, post_entry

_LOCK_NAMESPACE = 18_004  # pg_advisory_xact_lock(namespace, program id): claim generation


def write_off_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "OMS_REBATE_WRITE_OFF_THRESHOLD", "5.00")))


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _audit(claim: Claim, action: str, *, actor, before: str = "", after: str = "", note: str = "", **extra):
    event_record(
        object_type="claim",
        object_id=claim.pk,
        action=action,
        user=_user(actor),
        before={"status": before} if before else None,
        after={"status": after, **extra} if (after or extra) else None,
        note=note,
    )


def _advisory_lock(program_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, program_id])


def _counterparty_filter(program: RebateProgram) -> tuple[str, str]:
    """(accrual column, claim column) naming whom the program's claims go to."""
    if program.program_type in SUPPLIER_SIDE:
        return "supplier_id", "supplier_id"
    return "customer_id", "customer_id"


def _fx_rate(amount: Decimal, functional: Decimal) -> Decimal:
    """The claim's own rate to the functional currency: what its accruals were booked at."""
    if not amount:
        return Decimal(1)
    return (functional / amount).quantize(Decimal("0.0000000001"))


def _insert_lines(claim: Claim, accrual_where: str, params: Sequence) -> int:
    """INSERT ... SELECT the claim's lines from its accruals (one statement, any number of rows)."""
    line, accrual = ClaimLine._meta, Accrual._meta
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(line.db_table)} ({qn('claim_id')}, {qn('accrual_id')}, {qn('amount')}) "  # noqa: S608 (model names; values are parameters)
        f"SELECT %s, a.{qn('id')}, a.{qn('amount')} FROM {qn(accrual.db_table)} a WHERE {accrual_where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [claim.pk, *params])
        return cursor.rowcount


def _mark_claimed(claim: Claim, expected: int) -> None:
    ids = list(ClaimLine.objects.filter(claim=claim).values_list("accrual_id", flat=True))
    if len(ids) != expected:
        raise Conflict("Some of these accruals were claimed meanwhile; nothing was saved. Try again.")
    accruals_mark_claimed(accrual_ids=ids, claim_number=claim.number)


def _finish_claim(claim: Claim, *, actor, action: str, note: str = "") -> Claim:
    totals = Accrual.objects.filter(claim_lines__claim=claim).aggregate(
        amount=Sum("amount"), functional=Sum("functional_amount")
    )
    claim.amount = claim.original_amount = totals["amount"] or Decimal(0)
    claim.fx_rate = _fx_rate(claim.amount, totals["functional"] or Decimal(0))
    claim.save(update_fields=["amount", "original_amount", "fx_rate", "updated_at"])
    _audit(claim, action, actor=actor, after=claim.status, note=note, amount=str(claim.amount))
    return claim


@transaction.atomic
def claims_generate(*, program_id: int | None = None, actor=None) -> list[Claim]:
    """One claim per (program, counterparty, currency) whose unclaimed accruals add up to more than
    zero (a net negative waits for more earnings). Idempotent: a second run finds nothing left."""
    groups_qs = Accrual.objects.filter(claimed_at__isnull=True)
    if program_id is not None:
        groups_qs = groups_qs.filter(program_id=program_id)
    program_ids = sorted(set(groups_qs.values_list("program_id", flat=True).distinct()))
    for pid in program_ids:  # one global order: programs by primary key
        _advisory_lock(pid)
    programs = RebateProgram.objects.in_bulk(program_ids)
    created: list[Claim] = []
    for pid in program_ids:
        program = programs[pid]
        acc_col, claim_col = _counterparty_filter(program)
        groups = (
            Accrual.objects.filter(program_id=pid, claimed_at__isnull=True)
            .values(acc_col, "currency")
            .annotate(total=Sum("amount"), n=Count("id"))
            .order_by(acc_col, "currency")
        )
        for group in groups:
            party, currency = group[acc_col], group["currency"]
            if party is None or group["total"] <= 0:
                continue
            claim = Claim.objects.create(
                program=program,
                status=ClaimStatus.OPEN,
                currency=currency,
                created_by=_user(actor),
                **{claim_col: party},
            )
            qn = connection.ops.quote_name
            where = (
                f"a.{qn('program_id')} = %s AND a.{qn(acc_col)} = %s AND a.{qn('currency')} = %s "
                f"AND a.{qn('claimed_at')} IS NULL"
            )
            inserted = _insert_lines(claim, where, [pid, party, currency])
            _mark_claimed(claim, inserted)
            created.append(_finish_claim(claim, actor=actor, action="generated"))
    return created


@transaction.atomic
def claim_create(*, program_id: int, accrual_ids: Sequence[int], actor=None, note: str = "") -> Claim:
    """A claim on chosen accruals of one program and one counterparty. Accruals of another
    program, supplier or customer, in another currency or already claimed are refused by name;
    nothing is saved then."""
    program = RebateProgram.objects.filter(pk=program_id).first()
    if program is None:
        raise ValidationFailed("No such program.", fields={"program": ["Unknown program."]})
    ids = sorted({int(i) for i in accrual_ids})
    if not ids:
        raise ValidationFailed("Choose the accruals to claim.", fields={"accruals": ["Required."]})
    _advisory_lock(program.pk)
    acc_col, claim_col = _counterparty_filter(program)
    rows = {a.pk: a for a in Accrual.objects.filter(pk__in=ids).select_related("supplier", "customer")}
    problems: list[str] = []
    missing = [i for i in ids if i not in rows]
    if missing:
        problems.append(f"Unknown accrual(s): {', '.join(map(str, missing))}.")
    party = program.supplier_id if claim_col == "supplier_id" else None
    currencies = {a.currency for a in rows.values()}
    for a in rows.values():
        if a.program_id != program.pk:
            problems.append(f"Accrual {a.pk} belongs to another program.")
        own = getattr(a, acc_col)
        if party is None:
            party = own
        if own != party:
            who = a.supplier if claim_col == "supplier_id" else a.customer
            kind = "supplier" if claim_col == "supplier_id" else "customer"
            problems.append(f"Accrual {a.pk} is of another {kind} ({who}); a claim is for one {kind}.")
        if a.claimed_at is not None:
            problems.append(f"Accrual {a.pk} is already claimed on {a.claim_number}.")
    if len(currencies) > 1:
        problems.append(f"The accruals are in several currencies ({', '.join(sorted(currencies))}).")
    if problems:
        raise ValidationFailed("These accruals cannot be claimed together.", fields={"accruals": problems})
    total = sum((a.amount for a in rows.values()), Decimal(0))
    if total <= 0:
        raise ValidationFailed(
            "The chosen accruals add up to nothing to claim.", fields={"accruals": [f"Total {total}."]}
        )
    claim = Claim.objects.create(
        program=program,
        status=ClaimStatus.OPEN,
        currency=currencies.pop(),
        created_by=_user(actor),
        **{claim_col: party},
    )
    ClaimLine.objects.bulk_create(
        ClaimLine(claim=claim, accrual_id=a.pk, amount=a.amount) for a in rows.values()
    )
    _mark_claimed(claim, len(rows))
    return _finish_claim(claim, actor=actor, action="created", note=note)


def _lock(claim_id: int, expected_version: int | None) -> Claim:
    claim = Claim.objects.select_for_update(of=("self",)).filter(pk=claim_id).first()
    if claim is None:
        raise NotFound("No such claim.")
    if expected_version is not None and claim.version != expected_version:
        raise StaleRevision(
            f"{claim.number} was changed by someone else after you opened it. Nothing was saved."
        )
    return claim


def _move(claim: Claim, target: str, *, actor, action: str, note: str = "", fields=(), **extra) -> Claim:
    ensure_claim_transition(claim.status, target)
    before = claim.status
    claim.status = target
    claim.version += 1
    claim.save(update_fields=["status", "version", "updated_at", *fields])
    _audit(claim, action, actor=actor, before=before, after=target, note=note, **extra)
    events.publish(
        "rebate_claim.status_changed",
        {
            "claim_id": claim.pk,
            "number": claim.number,
            "program_id": claim.program_id,
            "before": before,
            "status": target,
            "amount": str(claim.amount),
            "settled_amount": str(claim.settled_amount),
            "written_off_amount": str(claim.written_off_amount),
            "currency": claim.currency,
        },
        aggregate=("rebate_claim", claim.pk),
    )
    return claim


@transaction.atomic
def claim_submit(
    *, claim_id: int, actor=None, reference: str = "", note: str = "", expected_version=None
) -> Claim:
    """Send the claim to the supplier (or resubmit a disputed one)."""
    claim = _lock(claim_id, expected_version)
    fields = []
    if claim.submitted_at is None:
        claim.submitted_at = timezone.now()
        fields.append("submitted_at")
    if reference:
        claim.reference = reference[:80]
        fields.append("reference")
    action = "resubmitted" if claim.status == ClaimStatus.DISPUTED else "submitted"
    return _move(claim, ClaimStatus.SUBMITTED, actor=actor, action=action, note=note, fields=fields)


@transaction.atomic
def claim_approve(*, claim_id: int, actor=None, note: str = "", expected_version=None) -> Claim:
    """The counterparty accepted the claim: it waits for its money."""
    claim = _lock(claim_id, expected_version)
    return _move(claim, ClaimStatus.APPROVED, actor=actor, action="approved", note=note)


@transaction.atomic
def claim_dispute(*, claim_id: int, reason: str, note: str = "", actor=None, expected_version=None) -> Claim:
    """The counterparty disputes the claim: why (a reason code) and what they said (a note)."""
    if reason not in DisputeReason.values:
        raise ValidationFailed("Choose why the claim is disputed.", fields={"reason": ["Choose a reason."]})
    if reason == DisputeReason.OTHER and not note.strip():
        raise ValidationFailed("Say what the dispute is about.", fields={"note": ["Required for 'Other'."]})
    claim = _lock(claim_id, expected_version)
    claim.dispute_reason = reason
    claim.dispute_note = note
    return _move(
        claim,
        ClaimStatus.DISPUTED,
        actor=actor,
        action="disputed",
        note=note,
        fields=["dispute_reason", "dispute_note"],
        reason=reason,
    )


@transaction.atomic
def claim_cancel(*, claim_id: int, actor=None, note: str = "", expected_version=None) -> Claim:
    """Withdraw a claim: its accruals are unclaimed again (and may be claimed anew). A claim split
    off by a partial settlement holds part of accruals already settled: settle or write it off."""
    claim = _lock(claim_id, expected_version)
    if claim.parent_id is not None and claim.status in CLAIM_PENDING_STATUSES:
        raise Conflict(
            f"{claim.number} carries the rest of a partly settled claim: settle it or write it off.",
            fields={"status": ["A split-off claim cannot be canceled."]},
        )
    claim = _move(claim, ClaimStatus.CANCELED, actor=actor, action="canceled", note=note)
    accruals_release_claim(claim_number=claim.number)
    return claim


def _money(value, currency: str, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationFailed(f"'{value}' is not an amount.", fields={field: ["Not a number."]}) from exc
    if not amount.is_finite():
        raise ValidationFailed(f"'{value}' is not an amount.", fields={field: ["Not a number."]})
    if amount != amount.quantize(quantum(currency)):
        raise ValidationFailed(
            f"{currency} amounts have at most {len(str(quantum(currency)).partition('.')[2])} decimals.",
            fields={field: ["Too many decimals."]},
        )
    return amount


def _require_finance(actor) -> None:
    if not user_has_role(actor, Role.FINANCE):
        raise PermissionDenied("Only finance settles and writes off claims.")


def _post(
    claim: Claim,
    program: RebateProgram,
    *,
    kind: str,
    source_type: str,
    source_id,
    amount,
    on: date,
    method: str | None = None,
    memo: str = "",
):
    return post_entry(
        kind=kind,
        source_type=source_type,
        source_id=str(source_id),
        entry_date=on,
        currency=claim.currency,
        lines=movement_lines(
            program_type=program.program_type, kind=kind, amount=amount, payout_method=method, memo=memo
        ),
        program_id=program.pk,
        fx_rate=claim.fx_rate,
        memo=memo,
    )


def _split_remainder(claim: Claim, remainder: Decimal) -> Claim:
    """Move `remainder` of the claim into a child claim: the claim's positive lines give it up by
    largest remainder (each gives at most what it has); negative lines stay with the claim. The
    child's lines are inserted in batches and the claim's lines cut down by one UPDATE ... FROM."""
    lines = list(claim.lines.filter(amount__gt=0).order_by("pk").values_list("accrual_id", "amount"))
    parts = allocate(remainder, [amount for _, amount in lines], claim.currency)
    child = Claim.objects.create(
        program_id=claim.program_id,
        supplier_id=claim.supplier_id,
        customer_id=claim.customer_id,
        parent=claim,
        status=ClaimStatus.SUBMITTED,
        currency=claim.currency,
        amount=remainder,
        original_amount=remainder,
        fx_rate=claim.fx_rate,
        reference=claim.reference,
        submitted_at=timezone.now(),
    )
    ClaimLine.objects.bulk_create(
        (
            ClaimLine(claim=child, accrual_id=accrual_id, amount=part)
            for (accrual_id, _), part in zip(lines, parts, strict=True)
            if part
        ),
        batch_size=2000,
    )
    qn = connection.ops.quote_name
    table = qn(ClaimLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {qn('amount')} = {table}.{qn('amount')} - c.{qn('amount')} "  # noqa: S608 (model names; values are parameters)
            f"FROM {table} c WHERE c.{qn('claim_id')} = %s AND {table}.{qn('claim_id')} = %s "
            f"AND {table}.{qn('accrual_id')} = c.{qn('accrual_id')}",
            [child.pk, claim.pk],
        )
    return child


@transaction.atomic
def claim_settle(
    *,
    claim_id: int,
    amount,
    method: str,
    actor,
    reference: str = "",
    settled_on: date | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> ClaimSettlement:
    """Record the money received (or paid) for a claim. More than the claim is refused; less
    settles this claim and either writes the rest off (at or below the threshold) or splits it off
    into a child claim. Posts the settlement (and write-off) to the journal."""
    _require_finance(actor)
    claim = _lock(claim_id, expected_version)
    amount = _money(amount, claim.currency)
    if method not in PayoutMethod.values:
        raise ValidationFailed("Choose how the claim was settled.", fields={"method": ["Choose a method."]})
    if amount <= 0:
        raise ValidationFailed(
            "A settlement is a positive amount (write a small claim off instead).",
            fields={"amount": ["Must be > 0."]},
        )
    if amount > claim.amount:
        raise ValidationFailed(
            f"The settlement ({amount} {claim.currency}) is larger than the claim "
            f"({claim.amount} {claim.currency}); nothing was saved.",
            fields={"amount": [f"At most {claim.amount}."]},
        )
    ensure_claim_transition(claim.status, ClaimStatus.SETTLED)
    on = settled_on or timezone.localdate()
    remainder = claim.amount - amount
    written_off = remainder if 0 < remainder <= write_off_threshold() else Decimal(0)
    child = _split_remainder(claim, remainder) if remainder and not written_off else None
    claim.amount = amount + written_off
    claim.settled_amount = amount
    claim.written_off_amount = written_off
    claim.settled_at = timezone.now()
    _move(
        claim,
        ClaimStatus.SETTLED,
        actor=actor,
        action="settled",
        note=note,
        fields=["amount", "settled_amount", "written_off_amount", "settled_at"],
        settled=str(amount),
        written_off=str(written_off),
        child=child.number if child else "",
        method=method,
    )
    settlement = ClaimSettlement.objects.create(
        claim=claim,
        method=method,
        amount=amount,
        written_off=written_off,
        currency=claim.currency,
        reference=reference[:80],
        settled_on=on,
        child=child,
        created_by=_user(actor),
    )
    program = RebateProgram.objects.get(pk=claim.program_id)
    _post(
        claim, program, kind=EntryKind.SETTLEMENT, source_type="claim_settlement", source_id=settlement.pk,
        amount=amount, on=on, method=method, memo=f"{claim.number} settled by {method} {reference}".strip(),
    )  # fmt: skip
    if written_off:
        _post(
            claim, program, kind=EntryKind.WRITE_OFF, source_type="claim_write_off", source_id=settlement.pk,
            amount=written_off, on=on, memo=f"{claim.number} remainder written off",
        )  # fmt: skip
    if child is not None:
        _audit(
            child, "split", actor=actor, after=child.status, note=f"The rest of {claim.number}.",
            amount=str(child.amount), parent=claim.number,
        )  # fmt: skip
    return settlement


@transaction.atomic
def claim_write_off(
    *, claim_id: int, actor, note: str = "", expected_version: int | None = None
) -> ClaimSettlement:
    """Write a whole claim off: only at or below the write-off threshold (a larger claim is
    settled, disputed or canceled)."""
    _require_finance(actor)
    claim = _lock(claim_id, expected_version)
    threshold = write_off_threshold()
    if claim.amount > threshold:
        raise ValidationFailed(
            f"{claim.number} ({claim.amount} {claim.currency}) is above the write-off threshold "
            f"({threshold} {claim.currency}).",
            fields={"amount": [f"At most {threshold} can be written off."]},
        )
    ensure_claim_transition(claim.status, ClaimStatus.SETTLED)
    on = timezone.localdate()
    claim.written_off_amount = claim.amount
    claim.settled_at = timezone.now()
    _move(
        claim, ClaimStatus.SETTLED, actor=actor, action="written_off", note=note,
        fields=["written_off_amount", "settled_at"], written_off=str(claim.amount),
    )  # fmt: skip
    settlement = ClaimSettlement.objects.create(
        claim=claim, method="", amount=Decimal(0), written_off=claim.amount, currency=claim.currency,
        settled_on=on, created_by=_user(actor),
    )  # fmt: skip
    program = RebateProgram.objects.get(pk=claim.program_id)
    _post(
        claim, program, kind=EntryKind.WRITE_OFF, source_type="claim_write_off", source_id=settlement.pk,
        amount=claim.amount, on=on, memo=f"{claim.number} written off",
    )  # fmt: skip
    return settlement

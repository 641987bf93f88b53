"""Program terms and lifecycle: validation of the terms (tiers, dates, parties), submission,
approval by finance, rejection, termination, expiry, and new versions of an active program.

An active program's terms are frozen: a change is a new version (a copy in draft), which
terminates the version it supersedes when finance approves it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

from django.db import transaction
from django.utils import timezone

from oms.kernel import events
from oms.kernel.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from oms.kernel.roles import Role, user_has_role

from ..models import (
    SUPPLIER_SIDE,
    AccrualBasis,
    CalcMethod,
    DebitMethod,
    ProgramTier,
    ProgramType,
    RebateEvent,
    RebateProgram,
    ShipDebitAuthorization,
)
from ..states import PROGRAM_EDITABLE, ProgramStatus, ensure_program_transition
from .audit import event_record

FROZEN_MESSAGE = "An active program's terms are frozen: make a new version to change them."


@dataclass(frozen=True)
class TierInput:
    lower: Decimal | None
    upper: Decimal | None
    rate: Decimal | None


def _fmt(value: Decimal | None) -> str:
    return "..." if value is None else f"{value.normalize():f}"


def tier_problems(tiers: Sequence[TierInput]) -> list[str]:
    """What is wrong with a program's tiers, in words (empty: they are valid). Tiers must start
    at 0, follow each other without gap or overlap, have a rate each, and only the last may be
    open-ended."""
    problems: list[str] = []
    for i, t in enumerate(tiers, start=1):
        if t.rate is None:
            problems.append(f"Tier {i} ({_fmt(t.lower)}-{_fmt(t.upper)}) has no rate.")
        elif t.rate < 0:
            problems.append(f"Tier {i} has a negative rate.")
        if t.lower is None:
            problems.append(f"Tier {i} has no lower bound.")
        elif t.upper is not None and t.upper <= t.lower:
            problems.append(
                f"Tier {i}: the upper bound {_fmt(t.upper)} must be above the lower {_fmt(t.lower)}."
            )
    if problems:
        return problems
    ordered = sorted(tiers, key=lambda t: t.lower)
    if ordered and ordered[0].lower != 0:
        problems.append(f"The first tier must start at 0 (it starts at {_fmt(ordered[0].lower)}).")
    for prev, nxt in pairwise(ordered):
        span_prev = f"{_fmt(prev.lower)}-{_fmt(prev.upper)}"
        span_next = f"{_fmt(nxt.lower)}-{_fmt(nxt.upper)}"
        if prev.upper is None or nxt.lower < prev.upper:
            problems.append(f"Tiers {span_prev} and {span_next} overlap.")
        elif nxt.lower > prev.upper:
            problems.append(f"Tiers {span_prev} and {span_next} leave a gap.")
    return problems


def terms_problems(program: RebateProgram, tiers: Sequence[TierInput]) -> dict[str, list[str]]:
    """Field -> problems of a program's terms (empty: valid). The admin console shows them on
    the fields; submission refuses a program that has any."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if program.start_date and program.end_date and program.end_date < program.start_date:
        add("end_date", "The end date is before the start date.")
    ptype = program.program_type
    if ptype in SUPPLIER_SIDE and not program.supplier_id:
        add("supplier", "This program type needs the supplier who pays it.")
    if ptype == ProgramType.CUSTOMER_VOLUME:
        if bool(program.customer_id) == bool(program.customer_segment_id):
            add("customer", "A customer volume rebate names one customer or one customer group.")
        if program.basis == AccrualBasis.RECEIPTS:
            add("basis", "A customer rebate is earned on shipments or invoices, not receipts.")
    if ptype == ProgramType.SUPPLIER_REBATE and program.basis == AccrualBasis.INVOICES:
        add("basis", "A supplier rebate is earned on receipts or on sales shipments.")
    if ptype in (ProgramType.SUPPLIER_REBATE, ProgramType.CUSTOMER_VOLUME):
        if not tiers:
            add("tiers", "Give at least one tier (a flat rate is one tier from 0).")
        for problem in tier_problems(tiers):
            add("tiers", problem)
        if program.calc_method == CalcMethod.PERCENT and any(t.rate and t.rate > 100 for t in tiers):
            add("tiers", "A percent rate is at most 100.")
    elif tiers:
        add("tiers", "Only supplier and customer volume rebates have tiers.")
    if program.budget_cap is not None and program.budget_cap <= 0:
        add("budget_cap", "A budget cap is positive (leave it empty for none).")
    return errors


def authorization_problems(auth: ShipDebitAuthorization) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if auth.valid_from and auth.valid_to and auth.valid_to < auth.valid_from:
        errors["valid_to"] = ["The authorization ends before it starts (its dates are reversed)."]
    if auth.method in (DebitMethod.NEW_COST, DebitMethod.PERCENT_OFF) and auth.base_cost is None:
        errors["base_cost"] = ["A new cost or a percent off needs the book cost it lowers."]
    if (
        auth.method == DebitMethod.NEW_COST
        and auth.base_cost is not None
        and auth.value is not None
        and auth.value >= auth.base_cost
    ):
        errors["value"] = ["The new cost must be below the book cost."]
    if auth.method == DebitMethod.PERCENT_OFF and auth.value is not None and auth.value > 100:
        errors["value"] = ["A percent off is at most 100."]
    if auth.max_quantity is not None and auth.max_quantity <= 0:
        errors["max_quantity"] = ["A maximum quantity is positive (leave it empty for none)."]
    return errors


def _tiers_of(program: RebateProgram) -> list[TierInput]:
    return [TierInput(t.lower, t.upper, t.rate) for t in program.tiers.all()]


def _lock(program_id: int) -> RebateProgram:
    program = RebateProgram.objects.select_for_update(of=("self",)).filter(pk=program_id).first()
    if program is None:
        raise NotFound("No such program.")
    return program


def ensure_editable(program: RebateProgram) -> None:
    """Terms may change only in draft: an active (or ended) program is refused."""
    if program.status not in PROGRAM_EDITABLE:
        raise Conflict(
            FROZEN_MESSAGE if program.status == ProgramStatus.ACTIVE else "This program has ended."
        )


def _transition(program: RebateProgram, target: str, *, user, note: str = "", **fields) -> RebateProgram:
    ensure_program_transition(program.status, target)
    before = program.status
    program.status = target
    for name, value in fields.items():
        setattr(program, name, value)
    program.row_version += 1
    program.save(update_fields=["status", "row_version", "updated_at", *fields])
    event_record(
        object_type="program",
        object_id=program.pk,
        action=target,
        user=user,
        before={"status": before},
        after={"status": target},
        note=note,
    )
    events.publish(
        "rebate_program.status_changed",
        {
            "program_id": program.pk,
            "code": program.code,
            "version": program.version,
            "before": before,
            "status": target,
        },
        aggregate=("rebate_program", program.code),
    )
    return program


@transaction.atomic
def program_submit(*, program_id: int, user) -> RebateProgram:
    """Draft -> pending approval, once its terms are complete and valid."""
    program = _lock(program_id)
    ensure_program_transition(program.status, ProgramStatus.PENDING_APPROVAL)
    errors = terms_problems(program, _tiers_of(program))
    if program.program_type == ProgramType.SHIP_AND_DEBIT:
        auths = list(program.authorizations.all())
        if not auths:
            errors.setdefault("authorizations", []).append("A ship-and-debit program needs an authorization.")
        for auth in auths:
            for field, msgs in authorization_problems(auth).items():
                errors.setdefault(f"authorizations.{auth.number}.{field}", []).extend(msgs)
    if errors:
        raise ValidationFailed("The program's terms are not complete.", fields=errors)
    return _transition(program, ProgramStatus.PENDING_APPROVAL, user=user, submitted_at=timezone.now())


@transaction.atomic
def program_approve(*, program_id: int, user) -> RebateProgram:
    """Pending approval -> active, by finance. A new version terminates the one it supersedes."""
    if not user_has_role(user, Role.FINANCE):
        raise PermissionDenied("Only finance approves rebate programs.")
    program = _lock(program_id)
    ensure_program_transition(program.status, ProgramStatus.ACTIVE)
    if program.supersedes_id:
        old = _lock(program.supersedes_id)
        if old.status == ProgramStatus.ACTIVE:
            _transition(
                old,
                ProgramStatus.TERMINATED,
                user=user,
                note=f"superseded by version {program.version}",
                ended_at=timezone.now(),
                end_reason=f"Superseded by version {program.version}.",
            )
    return _transition(program, ProgramStatus.ACTIVE, user=user, approved_by=user, approved_at=timezone.now())


@transaction.atomic
def program_reject(*, program_id: int, user, reason: str) -> RebateProgram:
    """Pending approval -> back to draft, with finance's reason."""
    if not user_has_role(user, Role.FINANCE):
        raise PermissionDenied("Only finance reviews rebate programs.")
    if not reason.strip():
        raise ValidationFailed("Say why the program goes back.", fields={"reason": ["Required."]})
    program = _lock(program_id)
    return _transition(program, ProgramStatus.DRAFT, user=user, note=reason.strip())


@transaction.atomic
def program_terminate(*, program_id: int, user, reason: str) -> RebateProgram:
    """Active (or draft) -> terminated: it accrues nothing more; what it earned stays."""
    if not reason.strip():
        raise ValidationFailed("Say why the program ends.", fields={"reason": ["Required."]})
    program = _lock(program_id)
    return _transition(
        program,
        ProgramStatus.TERMINATED,
        user=user,
        note=reason.strip(),
        ended_at=timezone.now(),
        end_reason=reason.strip()[:300],
    )


@transaction.atomic
def programs_expire_due(*, today: date | None = None) -> int:
    """Active programs whose end date has passed -> expired (beat, nightly). One UPDATE, then
    one audit row per program expired."""
    today = today or timezone.localdate()
    ids = list(
        RebateProgram.objects.select_for_update(of=("self",))
        .filter(status=ProgramStatus.ACTIVE, end_date__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    now = timezone.now()
    RebateProgram.objects.filter(pk__in=ids).update(
        status=ProgramStatus.EXPIRED, ended_at=now, updated_at=now
    )
    RebateEvent.objects.bulk_create(
        RebateEvent(
            object_type="program",
            object_id=pk,
            action=ProgramStatus.EXPIRED,
            before={"status": ProgramStatus.ACTIVE},
            after={"status": ProgramStatus.EXPIRED},
            note=f"end date before {today.isoformat()}",
        )
        for pk in ids
    )
    return len(ids)


_COPIED = (
    "name",
    "program_type",
    "currency",
    "supplier_id",
    "customer_id",
    "customer_segment_id",
    "basis",
    "calc_method",
    "tier_mode",
    "tier_measure",
    "period",
    "start_date",
    "end_date",
    "budget_cap",
    "payout_method",
    "notes",
)


@transaction.atomic
def program_new_version(*, program_id: int, user) -> RebateProgram:
    """A draft copy (terms, tiers, eligibility, authorizations) of an active program, version + 1,
    to edit and submit; the active version keeps accruing until the new one is approved."""
    program = _lock(program_id)
    if program.status != ProgramStatus.ACTIVE:
        raise Conflict("Only an active program gets a new version; edit a draft directly.")
    if RebateProgram.objects.filter(supersedes=program).exists():
        raise Conflict("This program already has a new version in the works.")
    latest = (
        RebateProgram.objects.filter(code=program.code).order_by("-version").values_list("version", flat=True)
    )
    new = RebateProgram(
        code=program.code,
        version=latest[0] + 1,
        supersedes=program,
        status=ProgramStatus.DRAFT,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        accrued_amount=program.accrued_amount,
        **{f: getattr(program, f) for f in _COPIED},
    )
    new.save()
    new.products.set(program.products.all())
    new.brands.set(program.brands.all())
    new.categories.set(program.categories.all())
    ProgramTier.objects.bulk_create(
        ProgramTier(program=new, lower=t.lower, upper=t.upper, rate=t.rate) for t in program.tiers.all()
    )
    for auth in program.authorizations.all():
        copy = ShipDebitAuthorization.objects.create(
            program=new,
            number=auth.number,
            valid_from=auth.valid_from,
            valid_to=auth.valid_to,
            max_quantity=auth.max_quantity,
            consumed_quantity=auth.consumed_quantity,
            method=auth.method,
            value=auth.value,
            base_cost=auth.base_cost,
        )
        copy.customers.set(auth.customers.all())
        copy.segments.set(auth.segments.all())
        copy.products.set(auth.products.all())
    event_record(
        object_type="program",
        object_id=new.pk,
        action="new_version",
        user=user,
        after={"version": new.version, "supersedes": program.pk},
    )
    return new


def program_audit(*, program_ids: Iterable[int]) -> list[RebateEvent]:
    return list(RebateEvent.objects.filter(object_type="program", object_id__in=list(program_ids)))

"""Reads of programs and accruals (claims and the checkbook build on these)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from .models import Accrual, RebateProgram
from .states import ProgramStatus


def program_list(*, filters: dict | None = None) -> QuerySet[RebateProgram]:
    qs = RebateProgram.objects.select_related("supplier", "customer", "customer_segment").prefetch_related(
        "tiers"
    )
    if filters:
        from .filters import ProgramFilter

        qs = ProgramFilter(filters, queryset=qs).qs
    return qs


def active_programs(*, program_type: str | None = None) -> QuerySet[RebateProgram]:
    qs = RebateProgram.objects.filter(status=ProgramStatus.ACTIVE)
    return qs.filter(program_type=program_type) if program_type else qs


def accrual_list(*, filters: dict | None = None) -> QuerySet[Accrual]:
    qs = Accrual.objects.select_related("program", "supplier", "customer", "product")
    if filters:
        from .filters import AccrualFilter

        qs = AccrualFilter(filters, queryset=qs).qs
    return qs


def accruals_unclaimed(
    *, program_id: int | None = None, supplier_id: int | None = None, customer_id: int | None = None
) -> QuerySet[Accrual]:
    """Accruals (of every kind: accruals, reversals, adjustments) not yet on a claim, non-zero,
    oldest first. Filter by program and/or by the supplier or customer they concern."""
    qs = Accrual.objects.filter(claimed_at__isnull=True).exclude(amount=0)
    if program_id is not None:
        qs = qs.filter(program_id=program_id)
    if supplier_id is not None:
        qs = qs.filter(supplier_id=supplier_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("pk")


def unclaimed_totals(*, program_id: int | None = None) -> list[dict]:
    """Per (program, supplier, customer, currency): count and net amount of the unclaimed
    accruals, one query. Rows whose net is zero are kept (the caller decides)."""
    qs = accruals_unclaimed(program_id=program_id)
    rows = (
        qs.order_by()
        .values("program_id", "supplier_id", "customer_id", "currency")
        .annotate(count=Count("id"), amount=Sum("amount"), functional_amount=Sum("functional_amount"))
        .order_by("program_id", "supplier_id", "customer_id")
    )
    return [{**r, "amount": r["amount"] or Decimal("0")} for r in rows]


def program_earned(*, program_ids: list[int] | None = None) -> dict[int, dict[str, Decimal]]:
    """Per program: earned (net of reversals and adjustments), claimed and unclaimed, one query."""
    qs = Accrual.objects.all()
    if program_ids is not None:
        qs = qs.filter(program_id__in=program_ids)
    rows = (
        qs.order_by()
        .values("program_id")
        .annotate(
            earned=Sum("amount"),
            claimed=Sum("amount", filter=Q(claimed_at__isnull=False)),
            unclaimed=Sum("amount", filter=Q(claimed_at__isnull=True)),
        )
    )
    zero = Decimal("0")
    return {r["program_id"]: {k: r[k] or zero for k in ("earned", "claimed", "unclaimed")} for r in rows}


JOURNAL_CSV_HEADER = [
    "entry",
    "entry_date",
    "kind",
    "source_type",
    "source_id",
    "program",
    "program_type",
    "account",
    "debit",
    "credit",
    "currency",
    "functional_debit",
    "functional_credit",
    "functional_currency",
    "fx_rate",
    "memo",
]


def journal_csv_rows(*, entries=None, date_from=None, date_to=None):
    """The journal lines for the general ledger, one CSV row each (header, row iterator), read in
    chunks from one query (a server-side cursor on PostgreSQL)."""
    from .models import JournalLine

    qs = JournalLine.objects.all()
    if entries is not None:
        qs = qs.filter(entry__in=entries)
    if date_from is not None:
        qs = qs.filter(entry__entry_date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(entry__entry_date__lte=date_to)
    rows = qs.order_by("entry_id", "pk").values_list(
        "entry_id",
        "entry__entry_date",
        "entry__kind",
        "entry__source_type",
        "entry__source_id",
        "entry__program__code",
        "entry__program__program_type",
        "account",
        "debit",
        "credit",
        "entry__currency",
        "functional_debit",
        "functional_credit",
        "entry__functional_currency",
        "entry__fx_rate",
        "entry__memo",
    )
    return JOURNAL_CSV_HEADER, rows.iterator(chunk_size=2000)

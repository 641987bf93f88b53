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

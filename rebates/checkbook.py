"""Checkbook selectors (issue 18 item 5): per program, per supplier or per customer, in each
currency: budget, earned, claimed, unclaimed, settled, written off, outstanding; earned vs settled
over time; and the forecast of the next tier at the current run rate.

Every figure is one aggregate query over an indexed column (program, supplier or customer), so the
number of queries does not grow with the accruals:

- earned      = sum of the accruals (reversals and re-rating adjustments included, signed);
- unclaimed   = sum of the accruals not yet on a claim;
- claimed     = sum of the live (not canceled) claims' amounts; a partial settlement moves the
                rest into a child claim, so each amount counts once (claimed = earned - unclaimed);
- settled     = sum of the settlements, written off = sum of the write-offs;
- outstanding = earned - settled - written off: the accrued balance of the program's journal
                account (receivable from the supplier, or owed to the customer).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from oms.kernel.formatting import format_money, format_quantity

from .models import (
    SUPPLIER_SIDE,
    Accrual,
    AccrualKind,
    Claim,
    ClaimSettlement,
    Period,
    ProgramType,
    RebateProgram,
    TierMeasure,
)
from .states import ClaimStatus, ProgramStatus

ZERO = Decimal(0)


@dataclass
class Figures:
    currency: str
    budget: Decimal | None = None
    earned: Decimal = ZERO
    unclaimed: Decimal = ZERO
    claimed: Decimal = ZERO
    settled: Decimal = ZERO
    written_off: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        return self.earned - self.settled - self.written_off

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "budget": self.budget,
            "earned": self.earned,
            "claimed": self.claimed,
            "unclaimed": self.unclaimed,
            "settled": self.settled,
            "written_off": self.written_off,
            "outstanding": self.outstanding,
        }


@dataclass(frozen=True)
class Scope:
    """Whose checkbook: one program, one supplier (its supplier-side programs) or one customer
    (the customer volume rebates paid to it)."""

    program_id: int | None = None
    supplier_id: int | None = None
    customer_id: int | None = None

    def accruals(self) -> QuerySet[Accrual]:
        qs = Accrual.objects.all()
        if self.program_id is not None:
            qs = qs.filter(program_id=self.program_id)
        if self.supplier_id is not None:
            qs = qs.filter(supplier_id=self.supplier_id, program__program_type__in=SUPPLIER_SIDE)
        if self.customer_id is not None:
            qs = qs.filter(customer_id=self.customer_id, program__program_type=ProgramType.CUSTOMER_VOLUME)
        return qs

    def claims(self) -> QuerySet[Claim]:
        qs = Claim.objects.all()
        if self.program_id is not None:
            qs = qs.filter(program_id=self.program_id)
        if self.supplier_id is not None:
            qs = qs.filter(supplier_id=self.supplier_id)
        if self.customer_id is not None:
            qs = qs.filter(customer_id=self.customer_id)
        return qs

    def settlements(self) -> QuerySet[ClaimSettlement]:
        qs = ClaimSettlement.objects.all()
        if self.program_id is not None:
            qs = qs.filter(claim__program_id=self.program_id)
        if self.supplier_id is not None:
            qs = qs.filter(claim__supplier_id=self.supplier_id)
        if self.customer_id is not None:
            qs = qs.filter(claim__customer_id=self.customer_id)
        return qs


def checkbook(scope: Scope) -> list[Figures]:
    """The figures of a scope, one row per currency, in 3 queries whatever the number of accruals.

    A program's or a supplier's earned figure is the programs' running total (`accrued_amount`,
    which the accrual engine moves in the same transaction as every accrual, reversal and
    adjustment it writes), and the accruals are read only for what is still unclaimed (the index on
    program and claim mark); so the cost follows the unclaimed rows and the claims, not the whole
    history. A customer's figures are summed from its own accruals (a group's rebate pays each
    customer of the group its share)."""
    rows: dict[str, Figures] = {}

    def row(currency: str) -> Figures:
        return rows.setdefault(currency, Figures(currency=currency))

    if scope.customer_id is None:
        programs = RebateProgram.objects.all()
        if scope.program_id is not None:
            programs = programs.filter(pk=scope.program_id)
        if scope.supplier_id is not None:
            programs = programs.filter(supplier_id=scope.supplier_id, program_type__in=SUPPLIER_SIDE)
        ids = []
        for pk, currency, accrued, cap in programs.values_list(
            "pk", "currency", "accrued_amount", "budget_cap"
        ):
            ids.append(pk)
            f = row(currency)
            f.earned += accrued or ZERO
            if scope.program_id is not None:
                f.budget = cap
        # The index on (program, claim mark) reads only the unclaimed rows of these programs.
        unclaimed = Accrual.objects.filter(program_id__in=ids, claimed_at__isnull=True)
        for r in unclaimed.values("currency").annotate(unclaimed=Sum("amount")).order_by():
            row(r["currency"]).unclaimed = r["unclaimed"] or ZERO
    else:
        for r in (
            scope.accruals()
            .values("currency")
            .annotate(earned=Sum("amount"), unclaimed=Sum("amount", filter=Q(claimed_at__isnull=True)))
            .order_by()
        ):
            f = row(r["currency"])
            f.earned, f.unclaimed = r["earned"] or ZERO, r["unclaimed"] or ZERO
    for r in (
        scope.claims()
        .values("currency")
        .annotate(
            claimed=Sum("amount", filter=~Q(status=ClaimStatus.CANCELED)),
            settled=Sum("settled_amount"),
            written_off=Sum("written_off_amount"),
        )
        .order_by()
    ):
        f = row(r["currency"])
        f.claimed = r["claimed"] or ZERO
        f.settled = r["settled"] or ZERO
        f.written_off = r["written_off"] or ZERO
    return [rows[c] for c in sorted(rows) if rows[c].earned or rows[c].claimed or rows[c].budget is not None]


def checkbook_series(scope: Scope, currency: str) -> dict[str, list]:
    """Earned and settled per month, and their running totals, in one currency (2 queries)."""
    earned = dict(
        scope.accruals()
        .filter(currency=currency)
        .annotate(m=TruncMonth("source_date"))
        .values_list("m")
        .annotate(total=Sum("amount"))
        .order_by("m")
        .values_list("m", "total")
    )
    settled = dict(
        scope.settlements()
        .filter(currency=currency)
        .annotate(m=TruncMonth("settled_on"))
        .values_list("m")
        .annotate(total=Sum("amount"))
        .order_by("m")
        .values_list("m", "total")
    )
    months = sorted({_month(m) for m in earned} | {_month(m) for m in settled})
    earned = {_month(k): v for k, v in earned.items()}
    settled = {_month(k): v for k, v in settled.items()}
    out: dict[str, list] = {
        "months": [],
        "earned": [],
        "settled": [],
        "earned_total": [],
        "settled_total": [],
    }
    run_e = run_s = ZERO
    for m in months:
        run_e += earned.get(m, ZERO)
        run_s += settled.get(m, ZERO)
        out["months"].append(m.strftime("%Y-%m"))
        out["earned"].append(earned.get(m, ZERO))
        out["settled"].append(settled.get(m, ZERO))
        out["earned_total"].append(run_e)
        out["settled_total"].append(run_s)
    return out


def _month(value) -> date:
    return date(value.year, value.month, 1)


def series_chart(series: dict[str, list], currency: str) -> dict:
    """A Chart.js config (drawn by static/js/app.js): cumulative earned vs settled."""
    return {
        "type": "line",
        "data": {
            "labels": series["months"],
            "datasets": [
                {
                    "label": f"Earned ({currency})",
                    "data": [float(v) for v in series["earned_total"]],
                    "borderColor": "#1f6feb",
                    "backgroundColor": "#1f6feb",
                    "tension": 0.2,
                },
                {
                    "label": f"Settled ({currency})",
                    "data": [float(v) for v in series["settled_total"]],
                    "borderColor": "#1a7f37",
                    "backgroundColor": "#1a7f37",
                    "tension": 0.2,
                },
            ],
        },
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


# --- forecast of the next tier --------------------------------------------------------------------


def period_bounds(program: RebateProgram, on: date) -> tuple[date, date]:
    """The program period (month, quarter or year) that contains `on`, inside the program's dates."""
    if program.period == Period.MONTH:
        start = date(on.year, on.month, 1)
        end = date(on.year, on.month, calendar.monthrange(on.year, on.month)[1])
    elif program.period == Period.QUARTER:
        first = 3 * ((on.month - 1) // 3) + 1
        start = date(on.year, first, 1)
        last = first + 2
        end = date(on.year, last, calendar.monthrange(on.year, last)[1])
    else:
        start, end = date(on.year, 1, 1), date(on.year, 12, 31)
    return max(start, program.start_date), min(end, program.end_date)


@dataclass
class Forecast:
    program_id: int
    program_code: str
    program_name: str
    measure: str
    currency: str
    calc_method: str
    period_start: date
    period_end: date
    volume: Decimal
    current_rate: Decimal | None
    next_lower: Decimal | None
    next_rate: Decimal | None
    projected: Decimal
    reaches_on: date | None
    has_tiers: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def to_next(self) -> Decimal | None:
        return None if self.next_lower is None else max(self.next_lower - self.volume, ZERO)

    def _volume_text(self, value: Decimal | None) -> str:
        if value is None:
            return "—"
        if self.measure == TierMeasure.VALUE:
            return format_money(value, self.currency)
        return f"{format_quantity(value)} units"

    def _rate_text(self, rate: Decimal | None) -> str:
        if rate is None:
            return "none yet"
        if self.calc_method == "percent":
            return f"{format_quantity(rate)} %"
        return f"{format_money(rate, self.currency)} per unit"

    @property
    def volume_text(self) -> str:
        return self._volume_text(self.volume)

    @property
    def next_lower_text(self) -> str:
        return self._volume_text(self.next_lower)

    @property
    def to_next_text(self) -> str:
        return self._volume_text(self.to_next)

    @property
    def projected_text(self) -> str:
        return self._volume_text(self.projected)

    @property
    def current_rate_text(self) -> str:
        return self._rate_text(self.current_rate)

    @property
    def next_rate_text(self) -> str:
        return self._rate_text(self.next_rate)

    def as_dict(self) -> dict:
        return {
            "program": self.program_code,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "measure": self.measure,
            "volume": self.volume,
            "current_rate": self.current_rate,
            "next_tier_from": self.next_lower,
            "next_tier_rate": self.next_rate,
            "to_next_tier": self.to_next,
            "projected_volume": self.projected,
            "reaches_next_tier_on": self.reaches_on,
        }


def tier_forecast(
    program: RebateProgram, *, today: date, customer_id: int | None = None, volume: Decimal | None = None
) -> Forecast:
    """Where the program's period volume (one customer's, for a group's customer volume rebate)
    stands against its tiers, and when the next tier is reached at the run rate so far (volume per
    elapsed day, carried to the period's end). Tiers must be prefetched or cost one query."""
    start, end = period_bounds(program, min(max(today, program.start_date), program.end_date))
    if volume is None:
        qs = Accrual.objects.filter(
            program_id=program.pk,
            period_start=start,
            kind__in=[AccrualKind.ACCRUAL, AccrualKind.REVERSAL],
        )
        if customer_id is not None:
            qs = qs.filter(customer_id=customer_id)
        column = "value" if program.tier_measure == TierMeasure.VALUE else "quantity"
        volume = qs.aggregate(v=Sum(column))["v"] or ZERO
    tiers = sorted(program.tiers.all(), key=lambda t: t.lower)
    current = None
    nxt = None
    for tier in tiers:
        if tier.lower <= volume:
            current = tier
        elif nxt is None:
            nxt = tier
    elapsed = (min(today, end) - start).days + 1
    total_days = (end - start).days + 1
    rate_per_day = volume / Decimal(elapsed) if elapsed > 0 else ZERO
    projected = volume + rate_per_day * Decimal(max((end - min(today, end)).days, 0))
    reaches_on = None
    if nxt is not None and rate_per_day > 0 and today <= end:
        days = math.ceil((nxt.lower - volume) / rate_per_day)
        candidate = min(today, end) + timedelta(days=days)
        reaches_on = candidate if candidate <= end else None
    return Forecast(
        program_id=program.pk,
        program_code=program.code,
        program_name=program.name,
        measure=program.tier_measure,
        currency=program.currency,
        calc_method=program.calc_method,
        period_start=start,
        period_end=end,
        volume=volume,
        current_rate=current.rate if current else None,
        next_lower=nxt.lower if nxt else None,
        next_rate=nxt.rate if nxt else None,
        projected=projected.quantize(Decimal("0.01")),
        reaches_on=reaches_on,
        has_tiers=bool(tiers),
        extra={"total_days": total_days},
    )


def customer_rebate_programs(customer_id: int) -> QuerySet[RebateProgram]:
    """The active customer volume rebates that pay this customer, directly or through a group."""
    from pricing.models import SegmentMembership

    segments = SegmentMembership.objects.filter(customer_id=customer_id).values("segment_id")
    return (
        RebateProgram.objects.filter(
            Q(customer_id=customer_id) | Q(customer_segment_id__in=segments),
            program_type=ProgramType.CUSTOMER_VOLUME,
            status=ProgramStatus.ACTIVE,
        )
        .prefetch_related("tiers")
        .order_by("code", "-version")
    )


def customer_tier_forecasts(customer_id: int, *, today: date) -> list[Forecast]:
    """How far the customer is from the next tier of each of their volume rebates (a group's
    rebate counts the whole group's volume, as its tiers do)."""
    return [tier_forecast(p, today=today) for p in customer_rebate_programs(customer_id)]


def program_list(filters_qs: QuerySet[RebateProgram]) -> QuerySet[RebateProgram]:
    """Programs with their checkbook figures in the program currency: earned is the program's
    running total, the claim figures are subqueries over its claims (one query per page)."""
    from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    money = DecimalField(max_digits=20, decimal_places=4)

    def claim_sum(column: str, **flt):
        return Coalesce(
            Subquery(
                Claim.objects.filter(program_id=OuterRef("pk"), currency=OuterRef("currency"), **flt)
                .order_by()
                .values("program_id")
                .annotate(t=Sum(column))
                .values("t")[:1],
                output_field=money,
            ),
            Value(ZERO),
            output_field=money,
        )

    return (
        filters_qs.select_related("supplier", "customer", "customer_segment")
        .annotate(
            cb_earned=F("accrued_amount"),
            cb_claimed=claim_sum("amount", status__in=[s for s in ClaimStatus if s != ClaimStatus.CANCELED]),
            cb_settled=claim_sum("settled_amount"),
            cb_written_off=claim_sum("written_off_amount"),
        )
        .annotate(
            cb_outstanding=ExpressionWrapper(
                F("cb_earned") - F("cb_settled") - F("cb_written_off"), output_field=money
            )
        )
    )

"""Reads for customers: the credit position a credit check needs, in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from oms.kernel.exceptions import NotFound

from .models import Customer, Interaction, Lead
from .states import NEXT_STAGE, PIPELINE, LeadStage


@dataclass(frozen=True)
class CreditPosition:
    customer_id: int
    currency: str
    credit_limit: Decimal
    open_orders: Decimal
    open_receivables: Decimal

    @property
    def exposure(self) -> Decimal:
        return self.open_orders + self.open_receivables

    @property
    def available(self) -> Decimal:
        """May be negative: the customer is over the limit by that much."""
        return self.credit_limit - self.exposure


def credit_position(*, customer_id: int) -> CreditPosition:
    customer = (
        Customer.objects.select_related("credit_exposure")
        .only(
            "credit_limit",
            "credit_currency",
            "credit_exposure__open_orders_amount",
            "credit_exposure__open_receivables_amount",
        )
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise NotFound("No such customer.")
    # No exposure row yet means nothing is open: nobody has adjusted it.
    exposure = getattr(customer, "credit_exposure", None)
    return CreditPosition(
        customer_id=customer.pk,
        currency=customer.credit_currency,
        credit_limit=customer.credit_limit,
        open_orders=exposure.open_orders_amount if exposure else Decimal(0),
        open_receivables=exposure.open_receivables_amount if exposure else Decimal(0),
    )


def credit_position_of(customer: Customer) -> CreditPosition:
    """The position of a customer in hand: no query when it was read with
    `select_related("credit_exposure")`, one otherwise."""
    # No exposure row yet means nothing is open: nobody has adjusted it.
    exposure = getattr(customer, "credit_exposure", None)
    return CreditPosition(
        customer_id=customer.pk,
        currency=customer.credit_currency,
        credit_limit=customer.credit_limit,
        open_orders=exposure.open_orders_amount if exposure else Decimal(0),
        open_receivables=exposure.open_receivables_amount if exposure else Decimal(0),
    )


# --- leads, interactions and follow-ups ---------------------------------------------------------------


def lead_list(*, viewer_id: int | None = None, sees_all: bool = True) -> QuerySet[Lead]:
    """Leads a viewer may see: a manager sees all; a sales rep sees the leads they own and the
    unassigned ones (a web-form lead waits there for someone to take it). Scoping lives here only,
    so another rep's lead is a 404 on every screen and in the API."""
    qs = Lead.objects.select_related("owner", "customer")
    if sees_all:
        return qs
    return qs.filter(Q(owner_id=viewer_id) | Q(owner__isnull=True))


def lead_pipeline(qs: QuerySet[Lead], *, per_stage: int = 20) -> list[dict]:
    """The board: per open stage, its count, value and its newest cards (two queries whatever
    the number of leads)."""
    counts: dict[str, int] = {}
    values: dict[str, list[tuple[str, Decimal]]] = {stage: [] for stage in PIPELINE}
    # Estimated values add up per currency: a board never sums euros and yen into one figure.
    for row in (
        qs.filter(stage__in=PIPELINE)
        .values("stage", "currency")
        .annotate(n=Count("id"), value=Sum("estimated_value"))
        .order_by("stage", "currency")
    ):
        counts[row["stage"]] = counts.get(row["stage"], 0) + row["n"]
        if row["value"] is not None:
            values[row["stage"]].append((row["currency"], row["value"]))
    ranked = (
        qs.filter(stage__in=PIPELINE)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("stage")], order_by=[F("created_at").desc(), F("id").desc()]
            )
        )
        .filter(rank__lte=per_stage)
        .order_by("stage", "-created_at", "-id")
    )
    cards: dict[str, list[Lead]] = {stage: [] for stage in PIPELINE}
    for lead in ranked:
        cards[lead.stage].append(lead)
    return [
        {
            "stage": stage,
            "label": LeadStage(stage).label,
            "count": counts.get(stage, 0),
            "values": values[stage],
            "cards": cards[stage],
            "next": NEXT_STAGE.get(stage),
            "next_label": LeadStage(NEXT_STAGE[stage]).label if stage in NEXT_STAGE else "",
        }
        for stage in PIPELINE
    ]


def interactions_of(*, customer_id: int | None = None, lead_id: int | None = None) -> QuerySet[Interaction]:
    qs = Interaction.objects.select_related("by", "follow_up_owner", "lead")
    if customer_id:
        return qs.filter(customer_id=customer_id)
    return qs.filter(lead_id=lead_id)


def follow_ups_due(*, owner_id: int, today: date) -> QuerySet[Interaction]:
    """The owner's open follow-ups due today or earlier, oldest first ("my follow-ups today")."""
    return (
        Interaction.objects.filter(
            follow_up_owner_id=owner_id, follow_up_on__lte=today, follow_up_done_at__isnull=True
        )
        .select_related("customer", "lead")
        .order_by("follow_up_on", "id")
    )


def follow_ups_overdue_count(*, owner_id: int, today: date) -> int:
    return Interaction.objects.filter(
        follow_up_owner_id=owner_id, follow_up_on__lt=today, follow_up_done_at__isnull=True
    ).count()

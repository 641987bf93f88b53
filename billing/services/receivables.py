"""Receivables: due dates come from the invoice's payment terms (invoices.due_date_for); aging
buckets per customer and currency (current, 1-30, 31-60, 61-90, 90+ days past due) over the open
amounts of issued invoices, in one aggregate query; dunning reminders by email, one per invoice
and level, from a daily beat run. The open balance reaches the credit exposure through every
invoice, payment and credit memo service (common.receivable_settle)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, Sum, When
from django.utils import timezone

from ..models import DunningNotice, Invoice
from ..states import InvoiceStatus

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")


def _open_expr():
    return F("total") - F("amount_paid") - F("amount_credited")


def aging(*, as_of: date | None = None, customer_id: int | None = None) -> list[dict]:
    """One row per customer and currency: the open amount per bucket and in total."""
    as_of = as_of or timezone.localdate()
    qs = Invoice.objects.filter(status=InvoiceStatus.ISSUED)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    money = DecimalField(max_digits=20, decimal_places=4)

    def bucket(cond: Q):
        return Sum(Case(When(cond, then=_open_expr()), default=Decimal(0), output_field=money))

    d = lambda n: as_of - timedelta(days=n)  # noqa: E731
    rows = (
        qs.values("customer_id", "customer__name", "currency")
        .annotate(
            current=bucket(Q(due_date__isnull=True) | Q(due_date__gte=as_of)),
            d1_30=bucket(Q(due_date__lt=as_of, due_date__gte=d(30))),
            d31_60=bucket(Q(due_date__lt=d(30), due_date__gte=d(60))),
            d61_90=bucket(Q(due_date__lt=d(60), due_date__gte=d(90))),
            d90_plus=bucket(Q(due_date__lt=d(90))),
            open_total=Sum(_open_expr(), output_field=money),
        )
        .order_by("customer__name", "currency")
    )
    return list(rows)


def customer_statement(*, customer_id: int) -> dict:
    invoices = list(
        Invoice.objects.filter(customer_id=customer_id, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID])
        .order_by("issued_at", "pk")
        .values(
            "number",
            "order_number",
            "currency",
            "total",
            "amount_paid",
            "amount_credited",
            "due_date",
            "status",
        )
    )
    for row in invoices:
        row["open"] = row["total"] - row["amount_paid"] - row["amount_credited"]
    return {"invoices": invoices, "aging": aging(customer_id=customer_id)}


def _levels() -> list[tuple[int, int]]:
    return sorted(((int(k), int(v)) for k, v in settings.OMS_DUNNING_LEVELS.items()), key=lambda x: x[1])


def dunning_run(*, as_of: date | None = None) -> int:
    """Send the reminder level each overdue invoice has reached and not yet had (a level skipped
    while the run was down is not sent late: the highest reached is). One email per customer.
    Re-running the same day sends nothing twice (unique invoice + level)."""
    as_of = as_of or timezone.localdate()
    levels = _levels()
    if not levels:
        return 0
    first_days = levels[0][1]
    candidates = (
        Invoice.objects.filter(status=InvoiceStatus.ISSUED, due_date__lte=as_of - timedelta(days=first_days))
        .annotate(open=_open_expr())
        .filter(open__gt=0)
        .select_related("customer")
        .order_by("customer_id", "due_date", "pk")
    )
    notices: list[DunningNotice] = []
    for inv in candidates.annotate(
        sent=Exists(DunningNotice.objects.filter(invoice_id=OuterRef("pk"), level__gte=1))
    ).iterator():
        overdue = (as_of - inv.due_date).days
        reached = max((lvl for lvl, days in levels if overdue >= days), default=None)
        if reached is None:
            continue
        notices.append(
            DunningNotice(
                invoice=inv,
                level=reached,
                open_amount=inv.open,
                days_overdue=overdue,
                email=inv.customer.email,
            )
        )
    if not notices:
        return 0
    already = set(
        DunningNotice.objects.filter(invoice_id__in=[n.invoice_id for n in notices]).values_list(
            "invoice_id", "level"
        )
    )
    fresh = [n for n in notices if not any(i == n.invoice_id and lvl >= n.level for i, lvl in already)]
    with transaction.atomic():
        created = DunningNotice.objects.bulk_create(fresh, ignore_conflicts=True)
    by_customer: dict[int, list[DunningNotice]] = defaultdict(list)
    for n in created:
        by_customer[n.invoice.customer_id].append(n)
    for notes in by_customer.values():
        email = notes[0].email
        if not email:
            continue
        lines = [
            f"{n.invoice.number} (order {n.invoice.order_number}): {n.open_amount.normalize():f} "
            f"{n.invoice.currency}, {n.days_overdue} days overdue, reminder {n.level}"
            for n in notes
        ]
        EmailMessage(
            subject=f"Payment reminder: {len(notes)} overdue invoice(s)",
            body="The following invoices are overdue:\n\n" + "\n".join(lines) + "\n",
            to=[email],
        ).send(fail_silently=True)
    return len(created)

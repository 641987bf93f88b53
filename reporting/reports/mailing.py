"""Scheduled reports: a saved ranking mailed as a CSV file, daily (yesterday) or weekly (the
seven days before the send day), to a list of addresses.

The periodic send claims each due report with one conditional UPDATE (its `last_sent_on` moves to
today only if it was before today), so two beat runs at once send it once; a send that fails gives
the claim back, so the next run tries again."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.web import csv_safe

from .exports import HEADER, _cells
from .inputs import ranking_request
from .models import ReportFrequency, ScheduledReport
from .selectors import EXCLUSION_NOTE, ranking_iter

MAX_RECIPIENTS = 20


def _addresses(text: str) -> list[str]:
    addresses = [a.strip() for a in text.replace(";", ",").split(",") if a.strip()]
    if not addresses or len(addresses) > MAX_RECIPIENTS:
        raise ValidationFailed("Recipients.", fields={"recipients": [f"1 to {MAX_RECIPIENTS} addresses."]})
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationFailed(
                "Recipients.", fields={"recipients": [f"Not an address: {address}"]}
            ) from None
    return addresses


@transaction.atomic
def scheduled_report_save(
    *, owner, name: str, query: str, recipients: str, frequency: str, weekday: int = 0
) -> ScheduledReport:
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Required."]
    if frequency not in ReportFrequency.values:
        errors["frequency"] = [f"One of {ReportFrequency.values}."]
    if not 0 <= weekday <= 6:
        errors["weekday"] = ["0 (Monday) to 6 (Sunday)."]
    params = QueryDict(query, mutable=True)
    for key in ("date_from", "date_to", "page", "compare", "csrfmiddlewaretoken"):
        params.pop(key, None)
    try:
        ranking_request(params)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        addresses = _addresses(recipients)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The scheduled report is not valid.", fields=errors)
    return ScheduledReport.objects.create(
        owner=owner,
        name=name[:120],
        query=params.urlencode()[:1000],
        recipients=", ".join(addresses),
        frequency=frequency,
        weekday=weekday,
    )


def _period(report: ScheduledReport, today: date) -> tuple[date, date]:
    days = 1 if report.frequency == ReportFrequency.DAILY else 7
    return today - timedelta(days=days), today - timedelta(days=1)


def _csv(report: ScheduledReport, start: date, end: date) -> tuple[str, bytes]:
    params = QueryDict(report.query, mutable=True)
    params["date_from"], params["date_to"] = start.isoformat(), end.isoformat()
    rr = ranking_request(params)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in ranking_iter(
        filters=rr.filters,
        dimension=rr.dimension,
        metric=rr.metric,
        direction=rr.direction,
        order_by_key=rr.sort == "key",
    ):
        writer.writerow([csv_safe(v) for v in _cells(row)])
    writer.writerow(["#", EXCLUSION_NOTE])
    return f"{rr.metric}-by-{rr.dimension}-{start}-{end}.csv", out.getvalue().encode()


def scheduled_reports_send_due(*, today: date | None = None) -> int:
    """Periodic: mail every active report due today that has not gone out today. Returns how many
    were sent."""
    today = today or timezone.localdate()
    due = ScheduledReport.objects.filter(active=True).filter(
        Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today)
    )
    due = due.filter(
        Q(frequency=ReportFrequency.DAILY) | Q(frequency=ReportFrequency.WEEKLY, weekday=today.weekday())
    )
    sent = 0
    for report in due.order_by("pk"):
        before = report.last_sent_on
        claimed = (
            ScheduledReport.objects.filter(pk=report.pk)
            .filter(Q(last_sent_on__isnull=True) | Q(last_sent_on__lt=today))
            .update(last_sent_on=today)
        )
        if not claimed:
            continue  # another run has it
        try:
            start, end = _period(report, today)
            filename, content = _csv(report, start, end)
            message = EmailMessage(
                subject=f"Report: {report.name} ({start} to {end})",
                body=f"{report.name}, {start} to {end}. {EXCLUSION_NOTE}",
                to=[a.strip() for a in report.recipients.split(",") if a.strip()],
            )
            message.attach(filename, content, "text/csv")
            message.send()
        except Exception:
            ScheduledReport.objects.filter(pk=report.pk, last_sent_on=today).update(last_sent_on=before)
            raise
        sent += 1
    return sent

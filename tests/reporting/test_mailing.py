"""Scheduled reports: a saved ranking mailed as a CSV file to its addresses, daily or weekly,
once per due day however many times the periodic send runs."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.roles import Role, role_sync
from reporting.models import ScheduledReport
from reporting.reports.mailing import scheduled_report_save, scheduled_reports_send_due
from tests.support.otp import login_verified

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db]


def test_a_daily_report_mails_yesterdays_ranking_once(sales, mailoutbox):
    scheduled_report_save(
        owner=None,
        name="Channels",
        query="dimension=channel&metric=revenue&date_from=2020-01-01",
        recipients="a@example.com, b@example.com",
        frequency="daily",
    )
    assert scheduled_reports_send_due(today=dt.date(2026, 11, 10)) == 1  # covers the 9th
    assert scheduled_reports_send_due(today=dt.date(2026, 11, 10)) == 0  # once a day
    (mail,) = [m for m in mailoutbox if m.subject.startswith("Report:")]  # not the order confirmations
    assert mail.to == ["a@example.com", "b@example.com"] and "2026-11-09" in mail.subject
    name, content, kind = mail.attachments[0]
    assert name == "revenue-by-channel-2026-11-09-2026-11-09.csv" and kind == "text/csv"
    rows = list(csv.reader(io.StringIO(content.decode() if isinstance(content, bytes) else content)))
    assert [(r[2], r[3]) for r in rows[1:3]] == [("web", "500.00"), ("market", "220.00")]  # O2 and O3
    assert rows[-1][0] == "#"


def test_a_weekly_report_goes_out_on_its_weekday_only(sales, mailoutbox):
    scheduled_report_save(
        owner=None,
        name="Week",
        query="dimension=product",
        recipients="a@example.com",
        frequency="weekly",
        weekday=0,
    )
    assert scheduled_reports_send_due(today=dt.date(2026, 11, 14)) == 0  # a Saturday
    assert scheduled_reports_send_due(today=dt.date(2026, 11, 16)) == 1  # Monday: the 9th to the 15th
    (mail,) = [m for m in mailoutbox if m.subject.startswith("Report:")]
    assert "2026-11-09 to 2026-11-15" in mail.subject


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"recipients": "not-an-address"}, "recipients"),
        ({"query": "dimension=planet"}, "dimension"),
        ({"frequency": "hourly"}, "frequency"),
        ({"name": " "}, "name"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(db, kwargs, field):
    base = {
        "owner": None,
        "name": "x",
        "query": "dimension=product",
        "recipients": "a@example.com",
        "frequency": "daily",
    }
    with pytest.raises(ValidationFailed) as exc:
        scheduled_report_save(**{**base, **kwargs})
    assert field in exc.value.fields
    assert not ScheduledReport.objects.exists()


def test_the_ranking_screen_schedules_the_report_on_screen(client, django_user_model, sales):
    role_sync()
    user = django_user_model.objects.create_user(username="m", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.ORDER_DESK.label))
    login_verified(client, user)
    r = client.post(
        "/reports/rankings/schedule",
        {
            "query": "dimension=brand&metric=units",
            "name": "Brands",
            "recipients": "m@example.com",
            "frequency": "weekly",
            "weekday": "4",
        },
    )
    assert r.status_code == 302
    saved = ScheduledReport.objects.get()
    assert (saved.name, saved.frequency, saved.weekday, saved.query) == (
        "Brands",
        "weekly",
        4,
        "dimension=brand&metric=units",
    )

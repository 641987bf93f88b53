"""GET /api/v1/reports/...: the rankings and operational reports as JSON, paginated, and every bad
input the issue names answered 400 with the field named."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db]

WEEK = "date_from=2026-11-08&date_to=2026-11-14"


@pytest.fixture
def staff(django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user(username="analyst", is_staff=True))
    return client


def test_a_ranking_page_with_totals_exclusions_and_links(staff, sales):
    r = staff.get(f"/api/v1/reports/rankings?dimension=customer&metric=revenue&page_size=1&{WEEK}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 2 and body["previous"] is None and "page=2" in body["next"]
    assert [(x["label"], x["value"], x["rank"]) for x in body["results"]] == [
        (sales.customer.name, "850.0000", 1)
    ]
    assert body["totals"]["revenue"] == "1178.0000" and body["excluded"]["canceled_lines"] == 2
    assert body["previous_period"] == {"date_from": "2026-11-01", "date_to": "2026-11-07"}
    assert "Canceled lines" in body["note"]
    assert body["results"][0]["orders_url"].startswith("/reports/rankings/orders/?")
    assert body["csv_url"].startswith("/reports/rankings/export.csv?")
    second = staff.get(body["next"]).json()
    assert [x["label"] for x in second["results"]] == [sales.eu.name] and second["next"] is None


@pytest.mark.parametrize(
    "query, field",
    [
        ("dimension=planet", "dimension"),
        ("metric=happiness", "metric"),
        ("date_from=2026-11-14&date_to=2026-11-08", "date_to"),
        ("page_size=101", "page_size"),
        ("page=100000000000000000000", "page"),
        ("currency=JPY&" + WEEK, "currency"),
        ("currency=XXQ", "currency"),
        ("channel=nowhere", "channel"),
        ("status=lost", "status"),
        ("date_from=2020-01-01&date_to=2026-01-01", "date_from"),
        ("date_from=08/11/2026", "date_from"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(staff, sales, query, field):
    r = staff.get(f"/api/v1/reports/rankings?{query}")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "validation_failed" and field in r.json()["fields"], r.json()


def test_reports_are_for_staff_only(client, sales):
    assert client.get("/api/v1/reports/rankings").status_code in (401, 403)


def test_every_operational_report_answers_and_an_unknown_one_is_404(staff, sales):
    for report in (
        "on_time",
        "fill_rate",
        "backorder_aging",
        "cycle_times",
        "hold_durations",
        "po_lead_time",
    ):
        r = staff.get(f"/api/v1/reports/operational/{report}?{WEEK}")
        assert r.status_code == 200, (report, r.content)
        assert r.json()["report"] == report and r.json()["columns"]
    assert staff.get("/api/v1/reports/operational/weather").status_code == 404

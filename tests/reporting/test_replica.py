"""Report reads go to the replica alias when one is configured (DATABASE_REPLICA_URL makes it;
here a second alias to the same test database), writes stay on the primary."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from reporting.models import SalesFact
from reporting.reports.rollups import facts_rebuild
from reporting.reports.router import ReportReplicaRouter
from reporting.reports.selectors import ReportFilters, ranking

from .conftest import build_sales

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

WEEK = ReportFilters(date_from=dt.date(2026, 11, 8), date_to=dt.date(2026, 11, 14), currency="USD")


def _facts_sql(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "reporting_sales" in q["sql"]]  # facts and rollups


def test_reports_read_from_the_replica_alias_when_it_is_configured():
    build_sales()
    with override_settings(OMS_REPORTS_DATABASE="replica"):
        with (
            CaptureQueriesContext(connections["replica"]) as replica,
            CaptureQueriesContext(connections["default"]) as primary,
        ):
            r = ranking(filters=WEEK, dimension="product", metric="revenue")
            assert SalesFact.objects.filter(canceled=True).count() == 2
        assert r.totals["orders"] == 5
        assert len(_facts_sql(replica)) >= 3 and _facts_sql(primary) == []
        with CaptureQueriesContext(connections["replica"]) as replica:
            facts_rebuild()
        assert _facts_sql(replica) == []  # the refresh writes (and reads what it writes) on the primary


def test_without_a_replica_reports_read_from_the_primary():
    build_sales()
    with (
        CaptureQueriesContext(connections["replica"]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        ranking(filters=WEEK, dimension="product", metric="revenue")
    assert _facts_sql(replica) == [] and len(_facts_sql(primary)) >= 3


@pytest.mark.unit
def test_nothing_is_migrated_on_the_replica():
    router = ReportReplicaRouter()
    assert router.allow_migrate("replica", "reporting") is False
    assert router.allow_migrate("default", "reporting") is True
    assert router.db_for_write(SalesFact) == "default"


@pytest.mark.django_db
def test_without_postgresql_the_facts_are_not_kept_and_reports_say_they_need_it(client, monkeypatch):
    """SQLite (the zero-setup first run) keeps no facts: a refresh writes nothing and every
    report answers 503 with the reason, never a 500."""
    from django.contrib.auth import get_user_model

    from reporting.reports import api, rollups, views
    from tests.support.otp import login_verified

    for module in (rollups, api, views):
        monkeypatch.setattr(module, "facts_kept", lambda: False)
    assert rollups.facts_refresh(numbers=["SO-1"]) == 0 and rollups.facts_rebuild() == 0
    assert rollups.facts_catch_up() == 0 and rollups.fx_recheck() == 0
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456789")
    login_verified(client, boss)
    assert b"need PostgreSQL" in client.get("/reports/").content
    page = client.get("/reports/rankings/?dimension=product")
    assert page.status_code == 503 and b"Reports need PostgreSQL" in page.content
    reply = client.get("/api/v1/reports/rankings?dimension=product")
    assert reply.status_code == 503 and reply.json()["code"] == "reports_need_postgresql"

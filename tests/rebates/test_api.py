"""The rebates read API: programs with their terms and accruals with their basis, filtered through
their FilterSets; finance sees every program, other staff only customer volume rebates; query
counts do not grow with the rows."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from rebates.models import ProgramType
from rebates.services.accruals import accrue_shipment_lines
from tests.support.otp import login_verified

from .conftest import program, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def two_programs(rworld):
    supplier = program(code="sr", program_type=ProgramType.SUPPLIER_REBATE, supplier=rworld.supplier,
                       tiers=[(0, None, 5)], basis="shipments")  # fmt: skip
    customer = program(code="cv", program_type=ProgramType.CUSTOMER_VOLUME, customer=rworld.customer,
                       tiers=[(0, None, 1)], basis="shipments")  # fmt: skip
    for n in range(6):
        lines = ship(rworld, rworld.customer, [(rworld.drill, 2, "10.00")], on=date(2026, 2, 1 + n))
        accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in lines])
    return supplier, customer


def test_finance_lists_programs_and_accruals_with_their_basis(
    two_programs, finance_user, django_assert_max_num_queries
):
    client = login_verified(Client(), finance_user)
    resp = client.get("/api/v1/rebates/programs/")
    assert resp.status_code == 200
    assert [p["code"] for p in resp.json()["results"]] == ["cv", "sr"]
    detail = client.get(f"/api/v1/rebates/programs/{two_programs[0].pk}/").json()
    assert detail["tiers"] == [{"lower": "0.0000", "upper": None, "rate": "5.000000"}]
    with django_assert_max_num_queries(12):
        resp = client.get("/api/v1/rebates/accruals/", {"program": "sr"})
    rows = resp.json()["results"]
    assert len(rows) == 6 and {r["amount"] for r in rows} == {"1.0000"}
    assert rows[0]["basis"]["bands"][0]["rate"] == "5.000000" and rows[0]["product"] == "DRILL-R"
    assert client.get("/api/v1/rebates/accruals/", {"kind": "nonsense"}).status_code == 400
    assert client.get("/api/v1/rebates/programs/", {"program_type": ""}).status_code == 400


def test_sales_sees_customer_rebates_only(two_programs):
    clerk = get_user_model().objects.create_user("sales", password="x", is_staff=True)
    client = login_verified(Client(), clerk)
    assert [p["code"] for p in client.get("/api/v1/rebates/programs/").json()["results"]] == ["cv"]
    assert client.get(f"/api/v1/rebates/programs/{two_programs[0].pk}/").status_code == 404
    assert {r["program"] for r in client.get("/api/v1/rebates/accruals/").json()["results"]} == {"cv"}
    assert Client().get("/api/v1/rebates/programs/").status_code in (401, 403)

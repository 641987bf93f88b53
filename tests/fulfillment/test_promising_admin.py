"""The promising console: a sourcing rule is added with its ranked sources; a rule with no source,
a negative transit time and overlapping capacity periods are refused with a clear message and
nothing is saved."""

from __future__ import annotations

import pytest

from fulfillment.models import FacilityCapacity, SourcingRule, SourcingRuleSource
from tests.factories.inventory import WarehouseFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RULES = "/admin/fulfillment/sourcingrule/add/"
CAPACITY = "/admin/fulfillment/facilitycapacity/add/"


def _rule(sources: list[dict], **over) -> dict:
    data = {
        "name": "NJ drills",
        "country": "US",
        "region": "NJ",
        "postcode_from": "",
        "postcode_to": "",
        "effective_from": "2026-01-01",
        "ranking": "rank",
        "min_split_quantity": "0",
        "active": "on",
        "sources-TOTAL_FORMS": str(len(sources)),
        "sources-INITIAL_FORMS": "0",
        "sources-MIN_NUM_FORMS": "1",
        "sources-MAX_NUM_FORMS": "1000",
    }
    for i, src in enumerate(sources):
        row = {"rank": "1", "transit_days": "2", "lead_time_days": "0", "shipping_cost": "5",
               "transfer_cost": "0", "unit_cost": "0", "currency": "USD"} | src  # fmt: skip
        data.update({f"sources-{i}-{k}": v for k, v in row.items()})
    return data | over


def test_a_rule_with_ranked_sources_is_saved_from_the_console(admin_client):
    east, store = WarehouseFactory(code="east"), WarehouseFactory(code="nyc", type="store")
    resp = admin_client.post(
        RULES,
        _rule([{"warehouse": str(east.pk)}, {"warehouse": str(store.pk), "rank": "2", "transit_days": "0"}]),
    )
    assert resp.status_code == 302, resp.content
    rule = SourcingRule.objects.get()
    assert [(s.rank, s.warehouse.code) for s in rule.sources.order_by("rank")] == [(1, "east"), (2, "nyc")]
    assert admin_client.get("/admin/fulfillment/sourcingrule/").status_code == 200
    assert admin_client.get(f"/admin/fulfillment/sourcingrule/{rule.pk}/change/").status_code == 200


def test_a_rule_with_no_source_is_refused(admin_client):
    resp = admin_client.post(RULES, _rule([]))
    assert resp.status_code == 200
    assert (
        "A sourcing rule needs at least one source" in resp.content.decode()
        or "Please submit at least 1" in (resp.content.decode())
    )
    assert not SourcingRule.objects.exists()


def test_a_negative_transit_time_is_refused(admin_client):
    east = WarehouseFactory(code="east")
    resp = admin_client.post(RULES, _rule([{"warehouse": str(east.pk), "transit_days": "-1"}]))
    assert resp.status_code == 200
    assert "Transit time cannot be negative." in resp.content.decode()
    assert not SourcingRule.objects.exists() and not SourcingRuleSource.objects.exists()


def test_a_region_without_its_country_and_a_backwards_postcode_range_are_refused(admin_client):
    east = WarehouseFactory(code="east")
    resp = admin_client.post(RULES, _rule([{"warehouse": str(east.pk)}], country=""))
    assert "A region or postcode range needs its country." in resp.content.decode()
    resp = admin_client.post(
        RULES, _rule([{"warehouse": str(east.pk)}], region="", postcode_from="08000", postcode_to="07000")
    )
    assert "The range ends before it starts." in resp.content.decode()
    assert not SourcingRule.objects.exists()


def test_overlapping_capacity_periods_are_refused(admin_client):
    east = WarehouseFactory(code="east")
    ok = {"warehouse": str(east.pk), "unit": "lines", "daily_limit": "100", "valid_from": "2026-01-01",
          "valid_to": "2026-06-30"}  # fmt: skip
    assert admin_client.post(CAPACITY, ok).status_code == 302
    resp = admin_client.post(CAPACITY, ok | {"valid_from": "2026-06-01", "valid_to": ""})
    assert resp.status_code == 200
    assert "Overlaps the period from 2026-01-01 (100 lines)." in resp.content.decode()
    after = ok | {"valid_from": "2026-07-01", "valid_to": "", "daily_limit": "80"}
    assert admin_client.post(CAPACITY, after).status_code == 302
    assert FacilityCapacity.objects.count() == 2

"""The cost-of-change console: rules and policies are admin data; bad ones are refused with a
clear message and nothing is saved."""

from __future__ import annotations

import pytest

from fulfillment.models import ChangeCostPolicy, ChangeCostRule

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RULES = "/admin/fulfillment/changecostrule/add/"
POLICIES = "/admin/fulfillment/changecostpolicy/add/"


def _rule(**over) -> dict:
    return {
        "name": "Cancel fee",
        "kind": "shipment_request_cancel",
        "fixed_amount": "25",
        "per_unit_amount": "0",
        "percent_of_value": "0",
        "currency": "USD",
        "active": "on",
    } | over


def test_a_rule_is_saved_from_the_console(admin_client):
    resp = admin_client.post(RULES, _rule())
    assert resp.status_code == 302, resp.content
    assert ChangeCostRule.objects.get().fixed_amount == 25
    assert admin_client.get("/admin/fulfillment/changecostrule/").status_code == 200


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"fixed_amount": "0"}, "a rule costs something"),
        ({"fixed_amount": "-5"}, "greater than or equal to 0"),
        ({"percent_of_value": "150"}, "less than or equal to 100"),
        ({"kind": "teleport"}, "Select a valid choice"),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_is_saved(admin_client, over, message):
    resp = admin_client.post(RULES, _rule(**over))
    assert resp.status_code == 200 and message in resp.content.decode()
    assert not ChangeCostRule.objects.exists()


def test_a_refusal_limit_below_the_approval_threshold_is_refused(admin_client):
    body = {"approval_threshold": "100", "refusal_threshold": "50", "currency": "USD"}
    resp = admin_client.post(POLICIES, body)
    assert resp.status_code == 200
    assert "must be at or above the approval threshold" in resp.content.decode()
    assert not ChangeCostPolicy.objects.exists()
    resp = admin_client.post(POLICIES, body | {"refusal_threshold": "500"})
    assert resp.status_code == 302 and ChangeCostPolicy.objects.get().refusal_threshold == 500

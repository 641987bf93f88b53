"""Staff UI: the what-if panel (its own URL and htmx partial, embedded on the order page) and
the staff edit that shows the cost of change before the person confirms it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from fulfillment.models import ChangeCostPolicy, ChangeCostRule, FulfillmentLine
from fulfillment.states import ChangeCostKind as K
from orders.models import SalesOrder

from .conftest import settle
from .test_whatif import _awaiting_shipping, _row_counts

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
HX = {"HTTP_HX_REQUEST": "true"}


def test_the_whatif_panel_lists_and_applies_an_alternative(fworld, admin_client):
    ChangeCostRule.objects.create(
        name="Cancel at east", kind=K.SHIPMENT_REQUEST_CANCEL, fixed_amount=Decimal("15")
    )
    fl = _awaiting_shipping(Client(), fworld, "5")
    section = admin_client.get(f"/fulfillment/orders/{fl.order_number}/what-if", **HX)
    assert section.status_code == 200 and f"/fulfillment/lines/{fl.pk}/what-if" in section.content.decode()
    before = _row_counts()
    panel = admin_client.get(f"/fulfillment/lines/{fl.pk}/what-if", **HX)
    assert _row_counts() == before
    html = panel.content.decode()
    assert panel.status_code == 200 and "<html" not in html
    assert 'value="move:wh-west"' in html and "Only one alternative: Ship all 5 from" in html
    assert "15.00 USD" in html
    full = admin_client.get(f"/fulfillment/lines/{fl.pk}/what-if")
    assert full.status_code == 200 and "<html" in full.content.decode()

    done = admin_client.post(f"/fulfillment/lines/{fl.pk}/what-if/apply", {"option": "move:wh-west"}, **HX)
    assert done.status_code == 200 and "Applied: Ship all 5 from" in done.content.decode()
    fl.refresh_from_db()
    assert fl.warehouse == fworld.west


def test_the_panel_shows_a_refused_choice_in_words(fworld, admin_client):
    fl = _awaiting_shipping(Client(), fworld, "5")
    unknown = admin_client.post(f"/fulfillment/lines/{fl.pk}/what-if/apply", {"option": "teleport:x"}, **HX)
    assert unknown.status_code == 400 and "Unknown what-if option." in unknown.content.decode()
    stale = admin_client.post(f"/fulfillment/lines/{fl.pk}/what-if/apply", {"option": "move:nowhere"}, **HX)
    assert stale.status_code == 409 and "no longer available" in stale.content.decode()
    assert admin_client.get("/fulfillment/lines/999999/what-if", **HX).status_code == 404


def test_a_staff_edit_shows_its_cost_before_confirming_and_waits_for_approval(fworld, admin_client):
    ChangeCostRule.objects.create(
        name="Cancel at east", kind=K.SHIPMENT_REQUEST_CANCEL, fixed_amount=Decimal("25")
    )
    ChangeCostPolicy.objects.create(approval_threshold=Decimal("10"))
    fl = _awaiting_shipping(Client(), fworld, "5")
    number = fl.order_number
    form = admin_client.get(f"/orders/{number}/revise")
    assert form.status_code == 200 and 'name="qty-1"' in form.content.decode()
    key = form.context["key"]
    before = _row_counts()
    review = admin_client.post(
        f"/orders/{number}/revise", {"qty-1": "3", "revision": "1", "key": key, "review": "1"}
    )
    assert _row_counts() == before  # reviewing writes nothing
    html = review.content.decode()
    assert review.status_code == 200 and "Cost of change: 25.00 USD" in html
    assert "The order will wait for approval" in html and "Confirm the change" in html
    done = admin_client.post(
        f"/orders/{number}/revise", {"qty-1": "3", "revision": "1", "key": key, "confirm": "1"}
    )
    assert done.status_code == 302
    current = SalesOrder.objects.get(number=number, is_current=True)
    assert (current.revision, current.status) == (2, "pending_approval")
    detail = admin_client.get(f"/orders/{number}/").content.decode()
    assert "Cost of change (revision 2)" in detail and "over the approval threshold" in detail
    settle()
    assert FulfillmentLine.objects.get(pk=fl.pk).quantity == 5  # waits for the approval


def test_a_staff_edit_refuses_bad_quantities_and_a_stale_form(fworld, admin_client):
    fl = _awaiting_shipping(Client(), fworld, "5")
    number = fl.order_number
    bad = admin_client.post(
        f"/orders/{number}/revise", {"qty-1": "-1", "revision": "1", "key": "k1", "review": "1"}
    )
    assert bad.status_code == 400 and "Enter 0 or more" in bad.content.decode()
    same = admin_client.post(
        f"/orders/{number}/revise", {"qty-1": "5", "revision": "1", "key": "k1", "review": "1"}
    )
    assert same.status_code == 400 and "Nothing changed" in same.content.decode()
    stale = admin_client.post(
        f"/orders/{number}/revise", {"qty-1": "4", "revision": "7", "key": "k1", "review": "1"}
    )
    assert stale.status_code == 409 and "revised by someone else" in stale.content.decode()
    assert SalesOrder.objects.filter(number=number).count() == 1

"""The order page offers each person only the actions they may take, and a refused action shows
the form again with what was typed and the problem on its field."""

from __future__ import annotations

import pytest

from orders.actors import Actor
from orders.models import CREDIT_HOLD, HoldCode, OrderHold
from orders.services import hold_apply
from orders.services.holds import system_hold_code

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_the_manual_hold_codes_come_with_the_database():
    codes = {hc.code: hc for hc in HoldCode.objects.filter(is_system=False)}
    assert {"customer-request", "address-check", "payment-check", "manager-review"} <= set(codes)
    assert all(hc.apply_roles and hc.release_roles for hc in codes.values())


def test_apply_hold_offers_the_codes_the_role_may_apply(ui, login):
    page = login(ui.users.desk).get(f"/orders/{ui.open_order.number}/").content.decode()
    assert '<summary class="btn">Apply hold</summary>' in page
    for code in ("customer-request", "address-check", "payment-check", "manager-review", "manual"):
        assert f'<option value="{code}"' in page
    system_hold_code(CREDIT_HOLD)
    assert (
        'value="credit"' not in login(ui.users.desk).get(f"/orders/{ui.open_order.number}/").content.decode()
    )


def test_order_desk_is_not_offered_to_release_a_credit_hold_but_finance_is(ui, login):
    credit = system_hold_code(CREDIT_HOLD)
    hold = hold_apply(order_id=ui.open_order.pk, actor=Actor.system(), code=credit.code, reason="over limit")
    url = f"/orders/{ui.open_order.number}/holds/{hold.pk}/release"
    desk_page = login(ui.users.desk).get(f"/orders/{ui.open_order.number}/").content.decode()
    assert url not in desk_page and "Credit hold" in desk_page  # shown, not offered
    finance_page = login(ui.users.finance).get(f"/orders/{ui.open_order.number}/").content.decode()
    assert url in finance_page and "Release hold: Credit hold" in finance_page


def test_a_refused_release_keeps_the_reason_and_says_why(ui, login):
    """The order desk posts a credit release anyway (a page opened before the hold changed):
    the service refuses; the page shows the refusal on that form with the reason kept."""
    credit = system_hold_code(CREDIT_HOLD)
    hold = hold_apply(order_id=ui.open_order.pk, actor=Actor.system(), code=credit.code, reason="over limit")
    order = ui.open_order
    order.refresh_from_db()
    response = login(ui.users.desk).post(
        f"/orders/{order.number}/holds/{hold.pk}/release",
        {"version": order.version, "reason": "Customer paid by wire"},
    )
    assert response.status_code == 403
    assert response.context["failed"]["reason"] == "Customer paid by wire"
    page = response.content.decode()
    assert "You may not release the &#x27;credit&#x27; hold." in page
    assert "what you typed: “Customer paid by wire”" in page
    assert OrderHold.objects.get(pk=hold.pk).released_at is None


def test_an_empty_release_reason_is_shown_on_its_field_and_the_form_stays_open(ui, login):
    order = ui.held_order
    response = login(ui.users.desk).post(
        f"/orders/{order.number}/holds/{ui.hold.pk}/release", {"version": order.version, "reason": "  "}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert f'<p class="field-error" id="release-{ui.hold.pk}-err">A release needs a reason.</p>' in page
    assert (
        f'id="release-{ui.hold.pk}" type="text" name="reason" required value="  " aria-invalid="true"' in page
    )
    assert '<details class="action" open>' in page


def test_a_refused_hold_keeps_the_chosen_code_and_reason(ui, login):
    order = ui.held_order  # already on a manual hold: a second one is refused
    response = login(ui.users.desk).post(
        f"/orders/{order.number}/holds", {"version": order.version, "code": "manual", "reason": "Second look"}
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "already has an active &#x27;manual&#x27; hold" in page
    assert '<option value="manual" selected>' in page and 'value="Second look"' in page


def test_a_stale_cancel_keeps_the_reason(ui, login):
    order = ui.open_order
    response = login(ui.users.desk).post(
        f"/orders/{order.number}/cancel", {"version": order.version - 1, "reason": "Customer changed mind"}
    )
    page = response.content.decode()
    assert response.status_code == 409 and "was changed by someone else" in page
    assert 'id="cancel-reason" type="text" name="reason" required value="Customer changed mind"' in page


def test_workbench_offers_a_hold_only_to_those_who_may_release_it(ui, login):
    credit = system_hold_code(CREDIT_HOLD)
    hold = hold_apply(order_id=ui.open_order.pk, actor=Actor.system(), code=credit.code, reason="over limit")
    desk = login(ui.users.desk).get("/workbench/credit/").content.decode()
    assert f'name="ids" value="{hold.pk}"' not in desk and "Release selected" not in desk
    assert "Your role may not release these holds." in desk
    mixed = login(ui.users.desk).get("/workbench/holds/").content.decode()
    assert f'name="ids" value="{ui.hold.pk}"' in mixed and f'name="ids" value="{hold.pk}"' not in mixed
    finance = login(ui.users.finance).get("/workbench/credit/").content.decode()
    assert f'name="ids" value="{hold.pk}"' in finance and "Release selected" in finance

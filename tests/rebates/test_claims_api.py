"""The claims, settlements and checkbook API: the same services as the staff pages, finance only
(sales reads a customer's checkbook), bad input answered in the one error envelope with nothing
saved, and the beat task that generates claims."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client, RequestFactory

from oms.kernel.roles import Role, role_sync
from rebates.models import Accrual, Claim, ClaimSettlement, JournalEntry, ProgramType
from rebates.states import ClaimStatus
from tests.factories.catalog import SupplierFactory
from tests.support.otp import verify_session
from tests.ui.world import PASSWORD, staff_user

from .claims_support import accrue, journal_accrued_balance, program

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _client(user) -> Client:
    client = Client()
    assert client.login(
        request=RequestFactory().post("/accounts/login/"), username=user.get_username(), password=PASSWORD
    )
    verify_session(client, user)
    return client


@pytest.fixture
def api(db):
    role_sync()
    return _client(staff_user("finance", Role.FINANCE))


def test_a_claim_goes_from_generation_to_final_settlement_through_the_api(api):
    p = program(code="SR-API")
    accrue(p, "300.00")
    generated = api.post(
        "/api/v1/rebates/claims/generate/", {"program": p.pk}, content_type="application/json"
    )
    assert generated.status_code == 200, generated.content
    [claim] = generated.json()
    assert (
        claim["status"] == "open" and claim["amount"] == "300.0000" and claim["supplier"] == p.supplier.code
    )
    url = f"/api/v1/rebates/claims/{claim['id']}"
    assert (
        api.post(f"{url}/submit/", {"reference": "R-1"}, content_type="application/json").status_code == 200
    )
    disputed = api.post(
        f"{url}/dispute/", {"reason": "price", "note": "Rate 4 %"}, content_type="application/json"
    ).json()
    assert disputed["status"] == "disputed" and disputed["dispute_reason"] == "price"

    too_much = api.post(
        f"{url}/settle/", {"amount": "300.01", "method": "check"}, content_type="application/json"
    )
    assert too_much.status_code == 400
    body = too_much.json()
    assert body["code"] == "validation_failed" and "amount" in body["fields"]
    assert not ClaimSettlement.objects.exists()

    partial = api.post(
        f"{url}/settle/",
        {"amount": "250.00", "method": "check", "reference": "CHK-1", "version": disputed["version"]},
        content_type="application/json",
    )
    assert partial.status_code == 201, partial.content
    child = partial.json()["child"]
    child_claim = Claim.objects.get(parent_id=claim["id"])
    assert child == child_claim.number and child_claim.amount == Decimal("50.00")
    detail = api.get(f"/api/v1/rebates/claims/{child_claim.pk}/").json()
    assert detail["parent"] == claim["number"] and sum(Decimal(ln["amount"]) for ln in detail["lines"]) == 50

    book = api.get(f"/api/v1/rebates/checkbook/programs/{p.pk}/").json()
    [figures] = book["figures"]
    assert (figures["earned"], figures["settled"], figures["outstanding"]) == (
        "300.0000",
        "250.0000",
        "50.0000",
    )
    assert journal_accrued_balance(p) == Decimal("50.00")

    final = api.post(
        f"/api/v1/rebates/claims/{child_claim.pk}/settle/",
        {"amount": "50.00", "method": "deduction"},
        content_type="application/json",
    )
    assert final.status_code == 201
    book = api.get(f"/api/v1/rebates/checkbook/suppliers/{p.supplier_id}/").json()
    assert book["figures"][0]["outstanding"] == "0.0000" and book["figures"][0]["settled"] == "300.0000"
    assert book["series"]["earned_total"][-1] == "300.0000"
    listing = api.get("/api/v1/rebates/settlements/?program=SR-API").json()
    assert listing["count"] == 2


def test_a_claim_on_accruals_of_another_supplier_is_a_400_and_nothing_is_saved(api):
    p = program(code="SR-A", supplier=SupplierFactory(code="acme"))
    ok = accrue(p, "10.00")
    stray = accrue(p, "10.00", supplier=SupplierFactory(code="globex", name="Globex"))
    entries = JournalEntry.objects.count()
    response = api.post(
        "/api/v1/rebates/claims/",
        {"program": p.pk, "accruals": [ok.pk, stray.pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any("another supplier" in m for m in body["fields"]["accruals"])
    assert not Claim.objects.exists() and not Accrual.objects.filter(claimed_at__isnull=False).exists()
    assert JournalEntry.objects.count() == entries
    created = api.post(
        "/api/v1/rebates/claims/", {"program": p.pk, "accruals": [ok.pk]}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["amount"] == "10.0000"


def test_an_illegal_transition_is_a_409_and_a_stale_version_too(api):
    p = program()
    accrue(p, "10.00")
    [claim] = api.post("/api/v1/rebates/claims/generate/", {}, content_type="application/json").json()
    url = f"/api/v1/rebates/claims/{claim['id']}"
    response = api.post(f"{url}/approve/", {}, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "illegal_transition"
    api.post(f"{url}/submit/", {}, content_type="application/json")
    stale = api.post(f"{url}/approve/", {"version": claim["version"]}, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_revision"
    unknown = api.post(f"{url}/submit/", {"status": "settled"}, content_type="application/json")
    assert unknown.status_code == 400


def test_only_finance_uses_claims_and_sales_reads_customer_rebates(db):
    role_sync()
    desk = _client(staff_user("desk", Role.ORDER_DESK))
    picker = _client(staff_user("picker", Role.FULFILLMENT))
    p = program(
        code="CV-A", program_type=ProgramType.CUSTOMER_VOLUME, tiers=[("0", "500", "1"), ("500", None, "2")]
    )
    accrue(p, "3.00", value="300")
    for client in (desk, picker):
        assert client.get("/api/v1/rebates/claims/").status_code == 403
        assert (
            client.post("/api/v1/rebates/claims/generate/", {}, content_type="application/json").status_code
            == 403
        )
    assert not Claim.objects.exists()
    book = desk.get(f"/api/v1/rebates/checkbook/customers/{p.customer_id}/")
    assert book.status_code == 200
    [forecast] = book.json()["forecasts"]
    assert forecast["program"] == "CV-A" and forecast["next_tier_from"] == "500.0000"
    assert picker.get(f"/api/v1/rebates/checkbook/customers/{p.customer_id}/").status_code == 403


def test_the_beat_task_generates_claims_once(db):
    from oms.celery import _beat_schedule
    from rebates.tasks import claims_generate_due

    assert _beat_schedule()["rebates-claims-generate"]["task"] == "rebates.tasks.claims_generate_due"
    p = program()
    accrue(p, "10.00")
    accrue(p, "5.00")
    assert claims_generate_due() == 1
    assert claims_generate_due() == 0
    assert Claim.objects.get().status == ClaimStatus.OPEN


def test_console_actions_submit_approve_and_cancel_through_the_claim_services(admin_client):
    from django.urls import reverse

    p = program()
    accrue(p, "20.00")
    accrue(p, "4.00", supplier=p.supplier)
    [claim] = api_generate(p)
    url = reverse("admin:rebates_claim_changelist")
    admin_client.post(url, {"action": "submit", "_selected_action": [claim.pk]}, follow=True)
    admin_client.post(url, {"action": "approve", "_selected_action": [claim.pk]}, follow=True)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    admin_client.post(url, {"action": "cancel", "_selected_action": [claim.pk]}, follow=True)
    claim.refresh_from_db()
    assert (
        claim.status == ClaimStatus.CANCELED and not Accrual.objects.filter(claimed_at__isnull=False).exists()
    )
    page = admin_client.get(reverse("admin:rebates_claim_change", args=[claim.pk]))
    assert page.status_code == 200 and claim.number in page.content.decode()
    assert b"delete_selected" not in admin_client.get(url).content


def api_generate(p):
    from rebates.services.claims import claims_generate

    return claims_generate(program_id=p.pk)

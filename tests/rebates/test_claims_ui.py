"""Staff screens for claims and the checkbook: finance generates, disputes and settles claims, a
refused settlement keeps what was typed and names the field, the checkbook drills down to the
accruals and from an accrual to the shipment that earned it; sales (order desk) sees customer
rebates only; the claim document comes as CSV and PDF."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from fulfillment.models import Shipment
from oms.kernel.roles import Role, role_sync
from rebates.models import Claim, ClaimSettlement, ProgramType, SourceType
from rebates.states import ClaimStatus
from tests.support.otp import verify_session
from tests.ui.world import PASSWORD, staff_user

from .claims_support import accrue, program

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _client(user) -> Client:
    client = Client()
    assert client.login(
        request=RequestFactory().post("/accounts/login/"), username=user.get_username(), password=PASSWORD
    )
    verify_session(client, user)
    return client


@pytest.fixture
def people(db):
    role_sync()
    return {
        "finance": staff_user("finance", Role.FINANCE),
        "desk": staff_user("desk", Role.ORDER_DESK),
        "picker": staff_user("picker", Role.FULFILLMENT),
    }


def test_finance_generates_disputes_and_settles_a_claim_from_the_staff_pages(people):
    p = program(code="SR-UI")
    accrue(p, "150.00")
    accrue(p, "50.00")
    client = _client(people["finance"])
    response = client.post("/rebates/claims/generate", {"program": p.pk})
    assert response.status_code == 302 and response["Location"] == f"/rebates/programs/{p.pk}/"
    claim = Claim.objects.get()
    page = client.get(f"/rebates/claims/{claim.pk}/").content.decode()
    assert claim.number in page and "200.00" in page
    assert client.post(f"/rebates/claims/{claim.pk}/submit", {"version": claim.version}).status_code == 302
    claim.refresh_from_db()
    response = client.post(
        f"/rebates/claims/{claim.pk}/dispute",
        {"version": claim.version, "reason": "price", "note": "Rate is 4 %"},
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DISPUTED and claim.dispute_note == "Rate is 4 %"

    # Larger than the claim: 400, the form open with what was typed, the problem on its field.
    response = client.post(
        f"/rebates/claims/{claim.pk}/settle",
        {"version": claim.version, "amount": "250.00", "method": "check", "reference": "CHK-9"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'value="250.00"' in body and 'value="CHK-9"' in body and 'aria-invalid="true"' in body
    assert "larger than the claim" in body
    assert not ClaimSettlement.objects.exists()

    response = client.post(
        f"/rebates/claims/{claim.pk}/settle",
        {"version": claim.version, "amount": "160.00", "method": "check", "reference": "CHK-10"},
    )
    assert response.status_code == 302
    child = Claim.objects.get(parent=claim)
    assert child.amount == Decimal("40.00")
    page = client.get(f"/rebates/claims/{claim.pk}/").content.decode()
    assert child.number in page
    checkbook = client.get(f"/rebates/programs/{p.pk}/").content.decode()
    assert (
        'data-figure="settled">160.00' in checkbook and 'data-figure="outstanding"><strong>40.00' in checkbook
    )
    assert "data-chart=" in checkbook


def test_a_stale_page_is_refused_and_nothing_is_saved(people):
    p = program()
    accrue(p, "10.00")
    client = _client(people["finance"])
    client.post("/rebates/claims/generate")
    claim = Claim.objects.get()
    assert client.post(f"/rebates/claims/{claim.pk}/submit", {"version": claim.version}).status_code == 302
    response = client.post(f"/rebates/claims/{claim.pk}/cancel", {"version": claim.version})
    assert response.status_code == 409 and "changed by someone else" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_claim_document_as_csv_and_pdf(people):
    p = program(code="SR-DOC")
    accrue(p, "75.50")
    client = _client(people["finance"])
    client.post("/rebates/claims/generate")
    claim = Claim.objects.get()
    csv = client.get(f"/rebates/claims/{claim.pk}/document.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode()
    assert claim.number in text and "75.50" in text and "SR-DOC" in text
    pdf = client.get(f"/rebates/claims/{claim.pk}/document.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 1000


def test_an_accrual_drills_down_to_the_shipment_that_earned_it(people):
    from tests.fulfillment.conftest import build_fulfillment_world, order_body, settle, submit, wake_pauses

    world = build_fulfillment_world()
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    order = submit(
        Client(),
        world,
        order_body(
            source="RB-1",
            lines=[
                {"source_line_id": "1", "sku": "DRILL-1", "quantity": "5", "requested_ship_date": ship_date}
            ],
        ),
    )
    settle()
    wake_pauses()
    settle()
    shipment = Shipment.objects.get(order_number=order["number"])
    line = shipment.lines.get()
    p = program(code="SD-1", program_type=ProgramType.SHIP_AND_DEBIT)
    a = accrue(p, "12.00", source_type=SourceType.SHIPMENT_LINE, source_id=str(line.pk))
    client = _client(people["finance"])
    listing = client.get(f"/rebates/accruals/?program={p.code}").content.decode()
    assert f"/rebates/accruals/{a.pk}/" in listing
    page = client.get(f"/rebates/accruals/{a.pk}/").content.decode()
    assert shipment.number in page and f"/orders/{order['number']}/" in page


def test_roles_finance_runs_rebates_sales_sees_customer_rebates(people):
    p = program(
        code="CV-1", program_type=ProgramType.CUSTOMER_VOLUME, tiers=[("0", "1000", "1"), ("1000", None, "2")]
    )
    accrue(p, "8.00", value="400")
    finance, desk, picker = (_client(people[k]) for k in ("finance", "desk", "picker"))
    for path in ("/rebates/", "/rebates/claims/", "/rebates/accruals/", f"/rebates/programs/{p.pk}/"):
        assert finance.get(path).status_code == 200, path
        assert desk.get(path).status_code == 403, path
        assert picker.get(path).status_code == 403, path
    customer_page = f"/rebates/customers/{p.customer_id}/"
    assert finance.get(customer_page).status_code == 200
    body = desk.get(customer_page).content.decode()
    assert "Next tier" in body and 'data-figure="to-next-tier"' in body
    assert picker.get(customer_page).status_code == 403
    assert desk.post("/rebates/claims/generate").status_code == 403
    assert not Claim.objects.exists()


def test_an_invalid_filter_is_shown_and_lists_nothing(people):
    client = _client(people["finance"])
    response = client.get("/rebates/claims/?status=bogus")
    assert response.status_code == 400 and "filter-errors" in response.content.decode()


def test_claim_list_and_checkbook_pages_do_not_grow_with_rows(people):
    client = _client(people["finance"])

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    def grow(n: int, prefix: str):
        for i in range(n):
            p = program(code=f"{prefix}-{i}")
            accrue(p, "10.00")
            accrue(p, "5.00")
        client.post("/rebates/claims/generate")

    grow(2, "A")
    urls = ["/rebates/", "/rebates/claims/", "/rebates/accruals/"]
    few = {u: count(u) for u in urls}
    program_url = f"/rebates/programs/{Claim.objects.first().program_id}/"
    few[program_url] = count(program_url)
    grow(6, "B")
    many = {u: count(u) for u in few}
    assert many == few


def test_the_customer_page_shows_how_far_the_customer_is_from_the_next_tier(people):
    from django.utils import timezone

    today = timezone.localdate()
    p = program(
        code="CV-PAGE",
        program_type=ProgramType.CUSTOMER_VOLUME,
        tiers=[("0", "1000", "1"), ("1000", "5000", "2"), ("5000", None, "3")],
        period="year",
        start=today.replace(month=1, day=1),
        end=today.replace(month=12, day=31),
    )
    accrue(p, "7.50", value="750", on=today)
    from rebates.models import Accrual

    Accrual.objects.filter(program=p).update(period_start=today.replace(month=1, day=1))
    client = _client(people["desk"])
    body = client.get(f"/customers/{p.customer_id}/").content.decode()
    assert "Volume rebates" in body and "CV-PAGE" in body
    assert 'data-figure="to-next-tier"><strong>250.00 USD' in body

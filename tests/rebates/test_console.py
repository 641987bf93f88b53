"""The rebates console: finance defines a program without code; bad terms (overlapping tiers, a
tier without a rate, reversed dates) are refused with the reason and nothing is saved; an active
program's edit is refused; the lifecycle actions go through the finance role; the journal
exports as CSV."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from rebates.models import (
    JournalEntry,
    ProgramTier,
    ProgramType,
    RebateEvent,
    RebateProgram,
    ShipDebitAuthorization,
)
from rebates.services.accruals import accrue_shipment_lines
from rebates.states import ProgramStatus
from tests.support.otp import login_verified

from .conftest import program, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _program_form(world, **extra) -> dict:
    data = {
        "code": "acme-2026", "name": "Acme volume 2026", "program_type": ProgramType.SUPPLIER_REBATE,
        "currency": "USD", "notes": "", "supplier": world.supplier.pk, "customer": "", "customer_segment": "",
        "basis": "shipments", "calc_method": "percent", "tier_mode": "stepped", "tier_measure": "value",
        "period": "quarter", "start_date": "2026-01-01", "end_date": "2026-12-31", "budget_cap": "",
        "payout_method": "credit_memo",
        "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    data.update(extra)
    return data


def _tiers(*tiers) -> dict:
    data = {"tiers-TOTAL_FORMS": str(len(tiers))}
    for i, (lower, upper, rate) in enumerate(tiers):
        data |= {f"tiers-{i}-lower": lower, f"tiers-{i}-upper": upper, f"tiers-{i}-rate": rate}
    return data


@pytest.fixture
def finance(finance_user):
    return login_verified(Client(), finance_user)


def test_finance_creates_a_tiered_program_in_the_console(rworld, finance):
    resp = finance.post(
        reverse("admin:rebates_rebateprogram_add"),
        _program_form(rworld, **_tiers(("0", "10000", "2"), ("10000", "", "3.5"))),
    )
    assert resp.status_code == 302, resp.content.decode()[:3000]
    p = RebateProgram.objects.get(code="acme-2026")
    assert p.status == ProgramStatus.DRAFT and p.created_by.username == "fin"
    assert [(t.lower, t.upper, t.rate) for t in p.tiers.all()] == [
        (Decimal("0"), Decimal("10000"), Decimal("2")),
        (Decimal("10000"), None, Decimal("3.5")),
    ]
    assert RebateEvent.objects.filter(object_type="program", object_id=p.pk, action="created").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (_tiers(("0", "1000", "2"), ("500", "", "3")), "overlap"),
        (_tiers(("0", "1000", "2"), ("1000", "", "")), "A tier needs a rate."),
        (_tiers(("0", "1000", "2"), ("1500", "", "3")), "leave a gap"),
        (
            {"start_date": "2026-12-31", "end_date": "2026-01-01", **_tiers(("0", "", "2"))},
            "dates are reversed",
        ),
    ],
    ids=["overlapping tiers", "tier without rate", "gap between tiers", "reversed dates"],
)
def test_bad_terms_are_refused_with_the_reason_and_nothing_is_saved(rworld, finance, extra, message):
    resp = finance.post(reverse("admin:rebates_rebateprogram_add"), _program_form(rworld, **extra))
    assert resp.status_code == 200
    assert message in resp.content.decode()
    assert not RebateProgram.objects.exists() and not ProgramTier.objects.exists()


def test_an_authorization_with_reversed_dates_is_refused(rworld, finance):
    p = program(code="sd", program_type=ProgramType.SHIP_AND_DEBIT, supplier=rworld.supplier, status="draft")
    data = _program_form(rworld, code="sd", program_type=ProgramType.SHIP_AND_DEBIT)
    del data["tiers-TOTAL_FORMS"]
    data |= {
        "authorizations-TOTAL_FORMS": "1", "authorizations-INITIAL_FORMS": "0",
        "authorizations-MIN_NUM_FORMS": "0", "authorizations-MAX_NUM_FORMS": "1000",
        "authorizations-0-number": "SD-1", "authorizations-0-valid_from": "2026-05-31",
        "authorizations-0-valid_to": "2026-05-01", "authorizations-0-products": [rworld.drill.pk],
        "authorizations-0-method": "amount_off", "authorizations-0-value": "3",
    }  # fmt: skip
    resp = finance.post(reverse("admin:rebates_rebateprogram_change", args=[p.pk]), data)
    assert resp.status_code == 200
    assert "its dates are reversed" in resp.content.decode()
    assert not ShipDebitAuthorization.objects.exists()


def test_an_active_programs_edit_is_refused(rworld, finance):
    p = program(code="acme-2026", program_type=ProgramType.SUPPLIER_REBATE, supplier=rworld.supplier,
                tiers=[(0, None, 2)], basis="shipments")  # fmt: skip
    data = _program_form(rworld, name="Renamed", **{"tiers-INITIAL_FORMS": "1"}, **_tiers(("0", "", "9")))
    data["tiers-0-id"] = str(p.tiers.get().pk)
    data["tiers-0-program"] = str(p.pk)
    resp = finance.post(reverse("admin:rebates_rebateprogram_change", args=[p.pk]), data)
    assert resp.status_code == 200
    assert "terms are frozen" in resp.content.decode()
    p.refresh_from_db()
    assert p.name == "acme-2026" and p.tiers.get().rate == Decimal("2")


def _act(client, action, ids):
    resp = client.post(
        reverse("admin:rebates_rebateprogram_changelist"),
        {"action": action, "_selected_action": ids},
        follow=True,
    )
    assert resp.status_code == 200
    return [str(m) for m in get_messages(resp.wsgi_request)]


def test_submit_then_only_finance_approves_and_a_new_version_replaces_the_old(rworld, finance, clerk_user):
    p = program(code="acme", program_type=ProgramType.SUPPLIER_REBATE, supplier=rworld.supplier,
                tiers=[(0, None, 2)], basis="shipments", status=ProgramStatus.DRAFT)  # fmt: skip
    assert "submitted" in _act(finance, "submit", [p.pk])[0]
    clerk_user.user_permissions.add(*Permission.objects.filter(codename__endswith="rebateprogram"))
    clerk = login_verified(Client(), clerk_user)
    assert "Only finance approves" in _act(clerk, "approve", [p.pk])[0]
    p.refresh_from_db()
    assert p.status == ProgramStatus.PENDING_APPROVAL
    assert "approved" in _act(finance, "approve", [p.pk])[0]
    p.refresh_from_db()
    assert p.status == ProgramStatus.ACTIVE and p.approved_by.username == "fin"
    _act(finance, "new_version", [p.pk])
    v2 = RebateProgram.objects.get(code="acme", version=2)
    assert v2.status == ProgramStatus.DRAFT and v2.supersedes_id == p.pk and v2.tiers.count() == 1
    _act(finance, "submit", [v2.pk])
    _act(finance, "approve", [v2.pk])
    p.refresh_from_db()
    v2.refresh_from_db()
    assert (p.status, v2.status) == (ProgramStatus.TERMINATED, ProgramStatus.ACTIVE)
    actions = list(
        RebateEvent.objects.filter(object_id=p.pk, object_type="program").values_list("action", flat=True)
    )
    assert actions == ["pending_approval", "active", "terminated"]


def test_submission_refuses_incomplete_terms(rworld, finance):
    p = program(
        code="empty", program_type=ProgramType.SUPPLIER_REBATE, supplier=None, status=ProgramStatus.DRAFT
    )
    message = _act(finance, "submit", [p.pk])[0]
    assert "supplier" in message and "at least one tier" in message
    p.refresh_from_db()
    assert p.status == ProgramStatus.DRAFT


def test_the_journal_exports_as_csv(rworld, finance):
    program(
        code="csv", program_type=ProgramType.SUPPLIER_REBATE, supplier=rworld.supplier, tiers=[(0, None, 10)],
        basis="shipments",
    )  # fmt: skip
    lines = ship(rworld, rworld.customer, [(rworld.drill, 2, "50.00")], on=date(2026, 6, 1))
    accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in lines])
    resp = finance.post(
        reverse("admin:rebates_journalentry_changelist"),
        {"action": "export_csv", "_selected_action": list(JournalEntry.objects.values_list("pk", flat=True))},
    )
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    text = b"".join(resp.streaming_content).decode()
    rows = [r.split(",") for r in text.strip().splitlines()]
    assert rows[0][:3] == ["entry", "entry_date", "kind"]
    assert [(r[7], r[8], r[9]) for r in rows[1:]] == [
        ("1350", "10.0000", "0.0000"),
        ("5150", "0.0000", "10.0000"),
    ]

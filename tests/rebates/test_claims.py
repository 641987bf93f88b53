"""Claims: generated from unclaimed accruals, submitted, disputed, partly settled (the rest split
off into a child claim), finally settled; the checkbook and the journal agree at every step."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.kernel.exceptions import (
    Conflict,
    IllegalTransition,
    PermissionDenied,
    StaleRevision,
    ValidationFailed,
)
from rebates.checkbook import Scope, checkbook
from rebates.models import (
    Accrual,
    AccrualKind,
    Claim,
    ClaimLine,
    ClaimSettlement,
    JournalEntry,
    ProgramType,
    RebateEvent,
)
from rebates.services.claims import (
    claim_approve,
    claim_cancel,
    claim_create,
    claim_dispute,
    claim_settle,
    claim_submit,
    claim_write_off,
    claims_generate,
)
from rebates.states import CLAIM_TRANSITIONS, ClaimStatus, DisputeReason
from tests.factories.catalog import SupplierFactory

from .claims_support import accrue, finance_user, journal_accrued_balance, journal_totals, program

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

D = Decimal


def assert_agree(p, *, earned, claimed, unclaimed, settled, written_off):
    """The checkbook shows the expected figures, equals the journal's accrued balance, and the
    journal balances (debits = credits, in the entry and the functional currency)."""
    [f] = checkbook(Scope(program_id=p.pk))
    got = (f.earned, f.claimed, f.unclaimed, f.settled, f.written_off)
    assert got == (D(earned), D(claimed), D(unclaimed), D(settled), D(written_off)), got
    assert f.outstanding == D(earned) - D(settled) - D(written_off)
    assert f.claimed == f.earned - f.unclaimed  # every amount claimed once, on whichever claim holds it
    live = ClaimLine.objects.filter(claim__program=p).exclude(claim__status=ClaimStatus.CANCELED)
    assert sum((ln.amount for ln in live), D(0)) == f.claimed
    assert journal_accrued_balance(p) == f.outstanding
    debit, credit, fdebit, fcredit = journal_totals()
    assert debit == credit and fdebit == fcredit
    return f


def test_submit_dispute_partial_then_final_settlement_keep_checkbook_and_journal_in_step():
    fin = finance_user()
    p = program(code="SR-ACME")
    first = accrue(p, "100.00")
    accrue(p, "250.00")
    accrue(p, "-30.00", kind=AccrualKind.REVERSAL, reverses=first)
    assert_agree(p, earned="320", claimed="0", unclaimed="320", settled="0", written_off="0")

    [claim] = claims_generate(program_id=p.pk, actor=fin)
    assert (
        claim.status == ClaimStatus.OPEN
        and claim.amount == D("320.00")
        and claim.supplier_id == p.supplier_id
    )
    assert claim.lines.count() == 3
    assert not Accrual.objects.filter(program=p, claimed_at__isnull=True).exists()
    assert set(Accrual.objects.filter(program=p).values_list("claim_number", flat=True)) == {claim.number}
    assert claims_generate(program_id=p.pk, actor=fin) == []  # nothing left: a re-run claims nothing twice
    assert_agree(p, earned="320", claimed="320", unclaimed="0", settled="0", written_off="0")

    claim_submit(claim_id=claim.pk, actor=fin, reference="ACME-RB-7")
    claim_dispute(claim_id=claim.pk, actor=fin, reason=DisputeReason.QUANTITY, note="They count 200 only.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DISPUTED and claim.dispute_reason == "quantity"
    assert_agree(p, earned="320", claimed="320", unclaimed="0", settled="0", written_off="0")

    # Partial settlement from the dispute: 200 by check; the 120 left is claimed again on a child.
    s1 = claim_settle(claim_id=claim.pk, amount="200.00", method="check", reference="CHK-1001", actor=fin)
    claim.refresh_from_db()
    child = s1.child
    assert (
        claim.status == ClaimStatus.SETTLED
        and claim.amount == D("200.00")
        and claim.settled_amount == D("200")
    )
    assert claim.original_amount == D("320.00")
    assert (
        child.parent_id == claim.pk and child.status == ClaimStatus.SUBMITTED and child.amount == D("120.00")
    )
    assert sum(ln.amount for ln in child.lines.all()) == D("120.00")
    assert sum(ln.amount for ln in claim.lines.all()) == D("200.00")
    assert_agree(p, earned="320", claimed="320", unclaimed="0", settled="200", written_off="0")

    # Final settlement: 118 received; the 2.00 left is under the write-off threshold (5.00).
    s2 = claim_settle(claim_id=child.pk, amount="118.00", method="deduction", actor=fin)
    child.refresh_from_db()
    assert s2.child is None and s2.written_off == D("2.00")
    assert child.status == ClaimStatus.SETTLED and child.written_off_amount == D("2.00")
    assert_agree(p, earned="320", claimed="320", unclaimed="0", settled="318", written_off="2")
    assert journal_accrued_balance(p) == 0
    kinds = list(JournalEntry.objects.filter(program=p).values_list("kind", flat=True).order_by("pk"))
    assert kinds[-3:] == ["settlement", "settlement", "write_off"]
    actions = list(
        RebateEvent.objects.filter(object_type="claim", object_id=claim.pk).values_list("action", flat=True)
    )
    assert actions == ["generated", "submitted", "disputed", "settled"]
    assert RebateEvent.objects.filter(object_type="claim", object_id=child.pk, action="split").exists()


def test_a_customer_volume_rebate_in_euros_settles_by_credit_memo_and_balances_in_the_functional_currency():
    fin = finance_user()
    p = program(code="CV-EU", program_type=ProgramType.CUSTOMER_VOLUME, currency="EUR")
    accrue(p, "410.25", fx="1.0850")
    accrue(p, "89.75", fx="1.0920")
    [claim] = claims_generate(program_id=p.pk, actor=fin)
    assert claim.customer_id == p.customer_id and claim.currency == "EUR" and claim.amount == D("500.00")
    claim_submit(claim_id=claim.pk, actor=fin)
    claim_approve(claim_id=claim.pk, actor=fin)
    settlement = claim_settle(claim_id=claim.pk, amount="300.00", method="credit_memo", actor=fin)
    assert settlement.child.amount == D("200.00")
    f = assert_agree(p, earned="500", claimed="500", unclaimed="0", settled="300", written_off="0")
    assert f.currency == "EUR"
    claim_settle(claim_id=settlement.child_id, amount="200.00", method="credit_memo", actor=fin)
    assert_agree(p, earned="500", claimed="500", unclaimed="0", settled="500", written_off="0")


def test_a_settlement_larger_than_the_claim_is_refused_and_nothing_is_saved():
    fin = finance_user()
    p = program()
    accrue(p, "80.00")
    [claim] = claims_generate(program_id=p.pk, actor=fin)
    claim_submit(claim_id=claim.pk, actor=fin)
    entries, events = JournalEntry.objects.count(), RebateEvent.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        claim_settle(claim_id=claim.pk, amount="80.01", method="check", actor=fin)
    assert "larger than the claim" in exc.value.message and "amount" in exc.value.fields
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.settled_amount == 0 and claim.amount == D("80.00")
    assert not ClaimSettlement.objects.exists() and Claim.objects.count() == 1
    assert JournalEntry.objects.count() == entries and RebateEvent.objects.count() == events
    for bad in ("0", "-5", "abc", "10.001", "NaN"):
        with pytest.raises(ValidationFailed):
            claim_settle(claim_id=claim.pk, amount=bad, method="check", actor=fin)
    with pytest.raises(ValidationFailed):
        claim_settle(claim_id=claim.pk, amount="10", method="barter", actor=fin)
    assert not ClaimSettlement.objects.exists()


def test_a_claim_on_accruals_of_another_supplier_is_refused_by_name_and_nothing_is_saved():
    fin = finance_user()
    acme = program(code="SR-ACME", supplier=SupplierFactory(code="acme", name="Acme"))
    mine = accrue(acme, "50.00")
    stray = accrue(acme, "20.00", supplier=SupplierFactory(code="globex", name="Globex"))
    with pytest.raises(ValidationFailed) as exc:
        claim_create(program_id=acme.pk, accrual_ids=[mine.pk, stray.pk], actor=fin)
    assert any(
        f"Accrual {stray.pk} is of another supplier (Globex" in m for m in exc.value.fields["accruals"]
    )
    other = program(code="SR-OTHER")
    theirs = accrue(other, "5.00")
    with pytest.raises(ValidationFailed) as exc:
        claim_create(program_id=acme.pk, accrual_ids=[mine.pk, theirs.pk], actor=fin)
    assert any("another program" in m for m in exc.value.fields["accruals"])
    assert not Claim.objects.exists() and not ClaimLine.objects.exists()
    assert not Accrual.objects.filter(claimed_at__isnull=False).exists()
    claim = claim_create(program_id=acme.pk, accrual_ids=[mine.pk], actor=fin)
    assert claim.amount == D("50.00")
    with pytest.raises(ValidationFailed) as exc:  # already on a claim
        claim_create(program_id=acme.pk, accrual_ids=[mine.pk], actor=fin)
    assert any("already claimed" in m for m in exc.value.fields["accruals"])


def test_generation_groups_by_counterparty_and_currency_and_leaves_a_net_negative_unclaimed():
    fin = finance_user()
    p = program(code="CV-GROUP", program_type=ProgramType.CUSTOMER_VOLUME)
    from tests.factories.customers import CustomerFactory

    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    accrue(p, "10.00", customer=a)
    accrue(p, "15.00", customer=a)
    accrue(p, "7.00", customer=b)
    negative = accrue(p, "-3.00", customer=c)
    claims = claims_generate(program_id=p.pk, actor=fin)
    assert sorted((cl.customer_id, cl.amount) for cl in claims) == [(a.pk, D("25.00")), (b.pk, D("7.00"))]
    negative.refresh_from_db()
    assert negative.claimed_at is None


def test_cancel_gives_the_accruals_back_and_a_split_off_claim_cannot_be_canceled():
    fin = finance_user()
    p = program()
    accrue(p, "40.00")
    [claim] = claims_generate(program_id=p.pk, actor=fin)
    claim_cancel(claim_id=claim.pk, actor=fin, note="Wrong period")
    assert not Accrual.objects.filter(claimed_at__isnull=False).exists()
    assert_agree(p, earned="40", claimed="0", unclaimed="40", settled="0", written_off="0")
    [again] = claims_generate(program_id=p.pk, actor=fin)
    claim_submit(claim_id=again.pk, actor=fin)
    child = claim_settle(claim_id=again.pk, amount="10.00", method="check", actor=fin).child
    with pytest.raises(Conflict):
        claim_cancel(claim_id=child.pk, actor=fin)


def test_write_off_only_at_or_below_the_threshold_and_only_by_finance(settings):
    settings.OMS_REBATE_WRITE_OFF_THRESHOLD = "5.00"
    fin = finance_user()
    p = program()
    accrue(p, "4.99")
    [small] = claims_generate(program_id=p.pk, actor=fin)
    claim_submit(claim_id=small.pk, actor=fin)
    from django.contrib.auth import get_user_model

    nobody = get_user_model().objects.create_user(username="clerk", password="x-correct-horse", is_staff=True)
    with pytest.raises(PermissionDenied):
        claim_write_off(claim_id=small.pk, actor=nobody)
    with pytest.raises(PermissionDenied):
        claim_settle(claim_id=small.pk, amount="1.00", method="check", actor=nobody)
    claim_write_off(claim_id=small.pk, actor=fin, note="Not worth chasing")
    assert_agree(p, earned="4.99", claimed="4.99", unclaimed="0", settled="0", written_off="4.99")
    accrue(p, "6.00")
    [big] = claims_generate(program_id=p.pk, actor=fin)
    claim_submit(claim_id=big.pk, actor=fin)
    with pytest.raises(ValidationFailed):
        claim_write_off(claim_id=big.pk, actor=fin)
    # A rest above the threshold is split off, not written off.
    settlement = claim_settle(claim_id=big.pk, amount="0.50", method="check", actor=fin)
    assert settlement.written_off == 0 and settlement.child.amount == D("5.50")
    # At the threshold it is written off.
    done = claim_settle(claim_id=settlement.child_id, amount="0.50", method="check", actor=fin)
    assert done.written_off == D("5.00") and done.child is None
    assert_agree(p, earned="10.99", claimed="10.99", unclaimed="0", settled="1.00", written_off="9.99")


def test_a_stale_version_is_refused():
    fin = finance_user()
    p = program()
    accrue(p, "12.00")
    [claim] = claims_generate(program_id=p.pk, actor=fin)
    claim_submit(claim_id=claim.pk, actor=fin, expected_version=claim.version)
    with pytest.raises(StaleRevision):
        claim_approve(claim_id=claim.pk, actor=fin, expected_version=claim.version)


@pytest.mark.parametrize("current", list(ClaimStatus))
def test_every_transition_outside_the_table_is_refused(current):
    fin = finance_user()
    p = program()
    accrue(p, "12.00")
    [claim] = claims_generate(program_id=p.pk, actor=fin)
    Claim.objects.filter(pk=claim.pk).update(status=current)
    calls = {
        ClaimStatus.SUBMITTED: lambda: claim_submit(claim_id=claim.pk, actor=fin),
        ClaimStatus.APPROVED: lambda: claim_approve(claim_id=claim.pk, actor=fin),
        ClaimStatus.DISPUTED: lambda: claim_dispute(claim_id=claim.pk, actor=fin, reason="price"),
        ClaimStatus.CANCELED: lambda: claim_cancel(claim_id=claim.pk, actor=fin),
        ClaimStatus.SETTLED: lambda: claim_settle(
            claim_id=claim.pk, amount="1.00", method="check", actor=fin
        ),
    }
    for target, call in calls.items():
        if target in CLAIM_TRANSITIONS[current]:
            continue
        with pytest.raises(IllegalTransition):
            call()


def test_next_tier_forecast_at_the_current_run_rate():
    from datetime import date

    from rebates.checkbook import tier_forecast

    p = program(code="SR-TIERS", tiers=[("0", "1000", "2"), ("1000", "5000", "3"), ("5000", None, "4")])
    accrue(p, "6.00", value="250", on=date(2026, 1, 5))
    accrue(p, "7.00", value="350", on=date(2026, 1, 20))
    f = tier_forecast(p, today=date(2026, 1, 30))  # 600 in 30 days of a 90-day quarter: 20 a day
    assert (f.period_start, f.period_end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert f.volume == D("600") and f.current_rate == D("2") and f.next_lower == D("1000")
    assert f.to_next == D("400") and f.next_rate == D("3")
    assert f.reaches_on == date(2026, 2, 19) and f.projected == D("1800.00")
    slow = tier_forecast(p, today=date(2026, 3, 20))  # 600 in 79 days: 1,000 is not reached by Mar 31
    assert slow.reaches_on is None and slow.projected < 1000
    top = tier_forecast(p, today=date(2026, 1, 30), volume=D("6000"))
    assert top.next_lower is None and top.current_rate == D("4")


def test_the_same_story_on_accruals_written_by_the_engine_from_shipments_and_a_return(rworld):
    """Accruals from real shipped lines through the accrual engine (a 4 % stepped supplier rebate),
    a partial return reversing one; then the claim's life. Checkbook and journal agree throughout."""
    from datetime import date

    from rebates.services.accruals import accrue_shipment_lines, reverse_shipment_return
    from tests.rebates.conftest import program as engine_program
    from tests.rebates.conftest import ship

    fin = finance_user()
    p = engine_program(
        code="SR-ENGINE",
        program_type=ProgramType.SUPPLIER_REBATE,
        supplier=rworld.supplier,
        basis="shipments",
        calc_method="percent",
        tier_mode="stepped",
        tier_measure="value",
        period="quarter",
        tiers=[(0, None, 4)],
    )
    first = ship(rworld, rworld.customer, [(rworld.drill, 10, "50.00")], on=date(2026, 2, 2))  # 500 -> 20
    second = ship(rworld, rworld.customer2, [(rworld.saw, 4, "25.00")], on=date(2026, 2, 9))  # 100 -> 4
    accrue_shipment_lines(shipment_line_ids=[ln.pk for ln in first + second])
    reverse_shipment_return(lines=[{"shipment_line": first[0].pk, "quantity": "2"}], event_key="ret-1")  # -4
    assert_agree(p, earned="20", claimed="0", unclaimed="20", settled="0", written_off="0")

    [claim] = claims_generate(program_id=p.pk, actor=fin)
    assert claim.amount == D("20.00") and claim.lines.count() == 3
    claim_submit(claim_id=claim.pk, actor=fin)
    claim_dispute(claim_id=claim.pk, actor=fin, reason=DisputeReason.ELIGIBILITY, note="Saws excluded")
    child = claim_settle(claim_id=claim.pk, amount="12.00", method="credit_memo", actor=fin).child
    assert child.amount == D("8.00")
    assert_agree(p, earned="20", claimed="20", unclaimed="0", settled="12", written_off="0")
    claim_settle(claim_id=child.pk, amount="8.00", method="credit_memo", actor=fin)
    assert_agree(p, earned="20", claimed="20", unclaimed="0", settled="20", written_off="0")


def test_each_transition_is_published_on_the_outbox_with_its_audit_row():
    from oms.kernel.models import OutboxEvent

    fin = finance_user()
    p = program()
    accrue(p, "30.00")
    [claim] = claims_generate(program_id=p.pk, actor=fin)
    claim_submit(claim_id=claim.pk, actor=fin)
    claim_settle(claim_id=claim.pk, amount="30.00", method="check", actor=fin)
    published = [
        (e.payload["before"], e.payload["status"])
        for e in OutboxEvent.objects.filter(topic="rebate_claim.status_changed").order_by("pk")
    ]
    assert published == [("open", "submitted"), ("submitted", "settled")]
    audit = RebateEvent.objects.filter(object_type="claim", object_id=claim.pk)
    assert list(audit.values_list("action", flat=True)) == ["generated", "submitted", "settled"]
    assert audit.last().user == fin

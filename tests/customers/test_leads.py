"""Leads: capture (staff, web-form API, file import), the pipeline's transition table, conversion
into an account with its duplicate check, interactions with follow-ups, and their screens."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from customers.models import Contact, Customer, CustomerSite, Interaction, Lead, LeadEvent, LeadSource
from customers.selectors import follow_ups_due, follow_ups_overdue_count, lead_list, lead_pipeline
from customers.services import (
    PossibleDuplicate,
    customer_email_send,
    follow_up_complete,
    interaction_log,
    lead_convert,
    lead_create,
    lead_stage_change,
)
from customers.states import LEAD_TRANSITIONS, LeadStage
from oms.kernel.exceptions import IllegalTransition, NotFound, ValidationFailed
from oms.kernel.roles import Role
from partners.models import Channel, ChannelType
from partners.services import channel_key_issue
from tests.factories.customers import CustomerFactory
from tests.support.otp import login_verified
from tests.ui.world import staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _lead(**fields) -> Lead:
    data = {"contact_name": "Mia Chen", "company": "Northwind Cycles", "email": "mia@northwind.test"} | fields
    return lead_create(**data)


def _at(lead: Lead, stage: str) -> Lead:
    """Bring a lead to `stage` along the table (bypassing no rule)."""
    path = {
        LeadStage.NEW: [],
        LeadStage.CONTACTED: [LeadStage.CONTACTED],
        LeadStage.QUALIFIED: [LeadStage.QUALIFIED],
        LeadStage.PROPOSAL: [LeadStage.QUALIFIED, LeadStage.PROPOSAL],
        LeadStage.LOST: [LeadStage.LOST],
    }[stage]
    for step in path:
        lead = lead_stage_change(
            lead_id=lead.pk, to=step, reason="no budget" if step == LeadStage.LOST else ""
        )
    return lead


# --- services --------------------------------------------------------------------------------------------


def test_a_lead_needs_a_contact_and_a_way_to_reach_them_and_nothing_is_written_otherwise():
    with pytest.raises(ValidationFailed) as no_reach:
        lead_create(contact_name="Mia Chen", company="Northwind")
    assert "email" in no_reach.value.fields
    with pytest.raises(ValidationFailed) as no_name:
        lead_create(contact_name="", email="a@b.test")
    assert "contact_name" in no_name.value.fields
    with pytest.raises(ValidationFailed):
        lead_create(contact_name="Mia", email="a@b.test", estimated_value=Decimal("-1"))
    with pytest.raises(ValidationFailed) as bad_currency:
        lead_create(contact_name="Mia", email="a@b.test", currency="XXQ")
    assert "currency" in bad_currency.value.fields
    assert Lead.objects.count() == 0 and LeadEvent.objects.count() == 0
    lead = lead_create(contact_name=" Mia Chen ", phone="+1 555 0100", country="us")
    assert (lead.stage, lead.contact_name, lead.country) == (LeadStage.NEW, "Mia Chen", "US")
    assert list(lead.events.values_list("action", "after")) == [("created", "new")]


@pytest.mark.parametrize(("current", "target"), list(itertools.product(LeadStage.values, LeadStage.values)))
def test_the_pipeline_allows_exactly_the_moves_of_its_table(current, target):
    lead = _lead()
    Lead.objects.filter(pk=lead.pk).update(
        stage=current,
        lost_reason="gone" if current == LeadStage.LOST else "",
        customer=CustomerFactory() if current == LeadStage.WON else None,
    )
    allowed = target in LEAD_TRANSITIONS[current] and target != LeadStage.WON
    if allowed:
        changed = lead_stage_change(lead_id=lead.pk, to=target, reason="gone")
        assert changed.stage == target
        assert lead.events.filter(action="stage_changed", before=current, after=target).count() == 1
    else:
        with pytest.raises(IllegalTransition):
            lead_stage_change(lead_id=lead.pk, to=target, reason="gone")
        assert Lead.objects.get(pk=lead.pk).stage == current
        assert not lead.events.filter(action="stage_changed").exists()


def test_losing_a_lead_needs_a_reason_and_reopening_clears_it():
    lead = _lead()
    with pytest.raises(ValidationFailed) as refused:
        lead_stage_change(lead_id=lead.pk, to=LeadStage.LOST, reason="  ")
    assert "reason" in refused.value.fields and Lead.objects.get(pk=lead.pk).stage == LeadStage.NEW
    lost = lead_stage_change(lead_id=lead.pk, to=LeadStage.LOST, reason="Chose a competitor")
    assert lost.lost_reason == "Chose a competitor"
    reopened = lead_stage_change(lead_id=lead.pk, to=LeadStage.NEW)
    assert (reopened.stage, reopened.lost_reason) == (LeadStage.NEW, "")
    with pytest.raises(NotFound):
        lead_stage_change(lead_id=10**9, to=LeadStage.CONTACTED)


def test_converting_creates_the_account_with_its_site_and_contact_and_keeps_the_history():
    lead = _lead(phone="+1 555 0101", address_line1="9 Harbour Rd", city="Portland", postcode="04101",
                 country="US", currency="EUR")  # fmt: skip
    lead = _at(lead, LeadStage.QUALIFIED)
    note = interaction_log(kind="call", subject="Discovery call", lead_id=lead.pk)
    won = lead_convert(lead_id=lead.pk)
    customer = won.customer
    assert won.stage == LeadStage.WON
    assert (customer.name, customer.account_number, customer.email, customer.credit_currency) == (
        "Northwind Cycles", f"CRM{lead.pk:06d}", "mia@northwind.test", "EUR"
    )  # fmt: skip
    contact = Contact.objects.get(customer=customer)
    assert (contact.name, contact.email, contact.phone) == ("Mia Chen", "mia@northwind.test", "+1 555 0101")
    site = CustomerSite.objects.get(customer=customer)
    assert (site.line1, site.city, site.country, site.is_primary) == ("9 Harbour Rd", "Portland", "US", True)
    assert Interaction.objects.get(pk=note.pk).customer_id == customer.pk  # now on the account's page too
    assert list(won.events.values_list("action", flat=True)) == ["created", "stage_changed", "converted"]
    with pytest.raises(IllegalTransition):
        lead_convert(lead_id=lead.pk)  # a won lead is won once
    assert Customer.objects.count() == 1


def test_a_lead_like_an_existing_account_is_not_duplicated_silently():
    existing = CustomerFactory(name="Northwind Cycles", email="ap@northwind.test")
    by_email = CustomerFactory(name="Other name", email="mia@northwind.test")
    lead = _lead()
    with pytest.raises(PossibleDuplicate) as refused:
        lead_convert(lead_id=lead.pk)
    assert {c["id"] for c in refused.value.context["candidates"]} == {existing.pk, by_email.pk}
    assert Lead.objects.get(pk=lead.pk).stage == LeadStage.NEW and Customer.objects.count() == 2
    linked = lead_convert(lead_id=lead.pk, customer_id=existing.pk)
    assert linked.customer_id == existing.pk and Customer.objects.count() == 2
    other = _lead(company="Northwind Cycles", email="new@northwind.test")
    created = lead_convert(lead_id=other.pk, create_anyway=True, account_number="nw-2")
    assert created.customer.account_number == "NW-2" and Customer.objects.count() == 3
    third = _lead(company="Fresh Co", email="x@fresh.test")
    with pytest.raises(ValidationFailed) as taken:
        lead_convert(lead_id=third.pk, account_number="NW-2")
    assert "account_number" in taken.value.fields and Customer.objects.count() == 3


def test_follow_ups_due_today_or_earlier_are_listed_once_done_they_leave():
    owner = staff_user("rep", Role.ORDER_DESK)
    customer = CustomerFactory()
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as past:
        interaction_log(kind="call", subject="Too late", customer_id=customer.pk, user=owner,
                        follow_up_on=today - timedelta(days=1))  # fmt: skip
    assert "follow_up_on" in past.value.fields and not Interaction.objects.exists()
    overdue = interaction_log(kind="call", subject="Chase quote", customer_id=customer.pk, user=owner,
                              follow_up_on=today)  # fmt: skip
    Interaction.objects.filter(pk=overdue.pk).update(follow_up_on=today - timedelta(days=2))  # two days on
    due = interaction_log(
        kind="visit", subject="Demo", customer_id=customer.pk, user=owner, follow_up_on=today
    )
    interaction_log(kind="note", subject="Later", customer_id=customer.pk, user=owner,
                    follow_up_on=today + timedelta(days=3))  # fmt: skip
    interaction_log(kind="note", subject="No task", customer_id=customer.pk, user=owner)
    assert [i.pk for i in follow_ups_due(owner_id=owner.pk, today=today)] == [overdue.pk, due.pk]
    assert follow_ups_overdue_count(owner_id=owner.pk, today=today) == 1
    with pytest.raises(NotFound):  # another user's follow-up is not theirs to close
        follow_up_complete(interaction_id=overdue.pk, owner_id=owner.pk + 1000)
    follow_up_complete(interaction_id=overdue.pk, user=owner, owner_id=owner.pk)
    first_done = Interaction.objects.get(pk=overdue.pk).follow_up_done_at
    follow_up_complete(interaction_id=overdue.pk, user=owner)  # twice changes nothing twice
    assert Interaction.objects.get(pk=overdue.pk).follow_up_done_at == first_done
    assert [i.pk for i in follow_ups_due(owner_id=owner.pk, today=today)] == [due.pk]
    assert follow_ups_overdue_count(owner_id=owner.pk, today=today) == 0
    with pytest.raises(ValidationFailed):
        interaction_log(kind="call", subject="Nobody")
    with pytest.raises(ValidationFailed):
        interaction_log(kind="fax", subject="Old", customer_id=customer.pk)


def test_an_email_to_a_customer_is_sent_once_and_logged_as_an_interaction(django_capture_on_commit_callbacks):
    customer = CustomerFactory(email="buyer@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        customer_email_send(
            customer_id=customer.pk, to="buyer@acme.test", subject="Your quote", body="Attached."
        )
    assert [(m.subject, m.to) for m in mail.outbox] == [("Your quote", ["buyer@acme.test"])]
    logged = Interaction.objects.get(customer=customer)
    assert (logged.kind, logged.subject, logged.outcome) == ("email", "Your quote", "sent to buyer@acme.test")
    with pytest.raises(ValidationFailed) as refused:
        customer_email_send(customer_id=customer.pk, to="not-an-address", subject="", body="")
    assert set(refused.value.fields) == {"to", "subject", "body"}
    assert Interaction.objects.count() == 1 and len(mail.outbox) == 1


def test_the_board_counts_every_lead_per_stage_in_constant_queries(django_assert_max_num_queries):
    for n in range(7):
        _lead(company=f"Co {n}", email=f"c{n}@x.test", estimated_value=Decimal("100.50"))
    _lead(company="Euro", email="e@x.test", estimated_value=Decimal("40"), currency="EUR")
    _lead(company="No value", email="n@x.test")
    _at(_lead(company="Q", email="q@x.test"), LeadStage.QUALIFIED)
    with django_assert_max_num_queries(2):
        columns = lead_pipeline(lead_list(), per_stage=5)
    by_stage = {c["stage"]: c for c in columns}
    assert by_stage["new"]["count"] == 9 and len(by_stage["new"]["cards"]) == 5
    assert (
        by_stage["new"]["values"] == [("EUR", Decimal("40")), ("USD", Decimal("703.50"))]
        and by_stage["new"]["next"] == "contacted"
    )
    assert by_stage["qualified"]["count"] == 1 and by_stage["contacted"]["count"] == 0


# --- API -------------------------------------------------------------------------------------------------


@pytest.fixture
def web_key():
    channel = Channel.objects.create(code="WEB", name="Web", type=ChannelType.WEB)
    return channel_key_issue(channel=channel).raw_key


def test_a_storefront_posts_a_lead_from_its_contact_form(client, web_key):
    reply = client.post(
        "/api/v1/leads",
        {
            "contact_name": "Ana Lima",
            "email": "ana@shop.test",
            "interest": "50 e-bikes",
            "estimated_value": "25000",
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {web_key}",
    )
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert (body["source"], body["stage"], body["owner"], body["estimated_value"]) == (
        "web_form", "new", None, "25000.00"
    )  # fmt: skip
    lead = Lead.objects.get(pk=body["id"])
    assert lead.events.get().actor_label == "channel:WEB"
    # A storefront key writes leads; it does not read them.
    assert client.get("/api/v1/leads", HTTP_AUTHORIZATION=f"Api-Key {web_key}").status_code == 403


def test_a_bad_lead_is_a_400_naming_the_field_and_writes_nothing(client, web_key):
    for body, field in [
        ({"email": "ana@shop.test"}, "contact_name"),
        ({"contact_name": "Ana"}, "email"),
        ({"contact_name": "Ana", "email": "ana@shop.test", "estimated_value": "-5"}, "estimated_value"),
        ({"contact_name": "Ana", "email": "ana@shop.test", "country": "USA"}, "country"),
    ]:
        reply = client.post("/api/v1/leads", body, content_type="application/json",
                            HTTP_AUTHORIZATION=f"Api-Key {web_key}")  # fmt: skip
        assert reply.status_code == 400, (body, reply.content)
        assert field in reply.json()["fields"], reply.json()
    assert Lead.objects.count() == 0
    assert client.post("/api/v1/leads", {"contact_name": "A", "email": "a@b.test"},
                       content_type="application/json").status_code in (401, 403)  # fmt: skip


def test_staff_list_leads_filtered_by_stage_a_rep_sees_only_theirs_and_the_unassigned(client):
    rep = staff_user("desk", Role.ORDER_DESK)
    other = staff_user("desk2", Role.ORDER_DESK)
    manager = staff_user("manager", Role.APPROVER)
    _lead(company="Unassigned")
    _at(_lead(company="Mine", email="q@x.test", owner=rep), LeadStage.QUALIFIED)
    _at(_lead(company="Theirs", email="t@x.test", owner=other), LeadStage.QUALIFIED)
    login_verified(client, rep)
    reply = client.get("/api/v1/leads?stage=qualified")
    assert reply.status_code == 200
    assert [r["company"] for r in reply.json()["results"]] == ["Mine"]
    assert {r["company"] for r in client.get("/api/v1/leads").json()["results"]} == {"Mine", "Unassigned"}
    assert client.get("/api/v1/leads?stage=nonsense").status_code == 400
    login_verified(client, manager)
    assert {r["company"] for r in client.get("/api/v1/leads").json()["results"]} == {
        "Mine",
        "Theirs",
        "Unassigned",
    }


# --- import -------------------------------------------------------------------------------------------


def test_a_lead_file_imports_every_good_row_as_a_new_lead_and_names_the_bad_ones():
    import tablib

    from customers.resources import LeadResource

    data = tablib.Dataset(
        headers=["company", "contact_name", "email", "phone", "estimated_value", "currency"]
    )
    data.append(["Fair Co", "Jo Park", "jo@fair.test", "", "1200", "USD"])
    data.append(["No Reach", "Al Bo", "", "", "", "USD"])
    data.append(["Bad Value", "Cy Do", "cy@x.test", "", "lots", "USD"])
    dry = LeadResource().import_data(data, dry_run=True)
    assert dry.has_validation_errors() and [r.number for r in dry.invalid_rows] == [2, 3]
    good = tablib.Dataset(headers=data.headers)
    good.append(data[0])
    result = LeadResource().import_data(good, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    lead = Lead.objects.get()
    assert (lead.source, lead.stage, lead.estimated_value) == (
        LeadSource.IMPORT,
        LeadStage.NEW,
        Decimal("1200"),
    )
    assert lead.events.get().actor_label == "import"

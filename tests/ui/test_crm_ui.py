"""The staff screens of leads and follow-ups: capture, the board, conversion with its duplicate
check, and the interaction log on the customer page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from customers.models import Customer, Interaction, Lead
from customers.services import interaction_log, lead_create
from customers.states import LeadStage

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

# The tile's label keeps "follow-ups" on one line on a phone: a non-breaking hyphen.
OVERDUE_TILE = "My overdue follow\u2011ups".encode()


def test_the_desk_enters_a_lead_moves_it_on_the_board_and_wins_it_into_an_account(ui, login):
    client = login(ui.users.desk)
    form = {"contact_name": "Jo Park", "company": "Fair Co", "currency": "USD", "source": "staff"}
    refused = client.post("/crm/leads/new", form)
    assert refused.status_code == 400 and b"e-mail address or a phone number" in refused.content
    assert Lead.objects.count() == 0
    created = client.post(
        "/crm/leads/new", form | {"source": "trade_show", "email": "jo@fair.test", "owner": ui.users.desk.pk}
    )
    lead = Lead.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/crm/leads/{lead.pk}/"
    board = client.get("/crm/leads/pipeline")
    assert board.status_code == 200 and b"Fair Co" in board.content and b"Move to contacted" in board.content
    moved = client.post(f"/crm/leads/{lead.pk}/stage", {"to": "contacted", "next": "board"})
    assert moved["Location"] == "/crm/leads/pipeline"
    assert Lead.objects.get().stage == LeadStage.CONTACTED
    illegal = client.post(f"/crm/leads/{lead.pk}/stage", {"to": "proposal"}, follow=True)
    assert b"Cannot go from" in illegal.content and Lead.objects.get().stage == LeadStage.CONTACTED
    page = client.get(f"/crm/leads/{lead.pk}/")
    assert b"Convert" in page.content and b"Mark lost" in page.content
    won = client.post(f"/crm/leads/{lead.pk}/convert", {"account_number": ""})
    lead.refresh_from_db()
    assert lead.stage == LeadStage.WON and won["Location"] == f"/customers/{lead.customer_id}/"
    assert lead.customer.name == "Fair Co"


def test_converting_a_lead_like_an_account_offers_the_account_and_creates_nothing(ui, login):
    client = login(ui.users.desk)
    lead = lead_create(contact_name="Wile", company=ui.customer.name, email="wile@acme.test")
    before = Customer.objects.count()
    page = client.post(f"/crm/leads/{lead.pk}/convert", {"account_number": ""})
    assert page.status_code == 409 and f'data-candidate="{ui.customer.pk}"'.encode() in page.content
    assert Customer.objects.count() == before and Lead.objects.get().stage == LeadStage.NEW
    linked = client.post(f"/crm/leads/{lead.pk}/convert", {"customer": ui.customer.pk})
    assert linked["Location"] == f"/customers/{ui.customer.pk}/"
    assert Lead.objects.get().customer_id == ui.customer.pk and Customer.objects.count() == before


def test_follow_ups_list_the_users_due_tasks_and_the_dashboard_counts_the_overdue(ui, login):
    client = login(ui.users.desk)
    today = timezone.localdate()
    late = interaction_log(kind="call", subject="Chase the quote", customer_id=ui.customer.pk,
                           user=ui.users.desk, follow_up_on=today)  # fmt: skip
    Interaction.objects.filter(pk=late.pk).update(follow_up_on=today - timedelta(days=1))  # a day later
    interaction_log(kind="call", subject="Someone else's", customer_id=ui.customer.pk,
                    user=ui.users.approver, follow_up_on=today)  # fmt: skip
    listing = client.get("/crm/follow-ups/")
    assert b"Chase the quote" in listing.content and b"Someone else" not in listing.content
    dashboard = client.get("/")
    assert OVERDUE_TILE in dashboard.content
    client.post(f"/crm/follow-ups/{late.pk}/done")
    assert Interaction.objects.get(pk=late.pk).follow_up_done_at is not None
    assert b"Nothing to follow up today" in client.get("/crm/follow-ups/").content
    # Finance has no leads: no follow-up tile on its dashboard.
    assert OVERDUE_TILE not in login(ui.users.finance).get("/").content


def test_the_customer_page_logs_a_call_and_sends_an_email_as_interactions(
    ui, login, django_capture_on_commit_callbacks
):
    client = login(ui.users.desk)
    url = f"/customers/{ui.customer.pk}/"
    logged = client.post(f"/crm/customers/{ui.customer.pk}/interactions",
                         {"kind": "visit", "subject": "Site visit", "outcome": "Wants a quote"})  # fmt: skip
    assert logged["Location"] == url + "#interactions"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        email = {"to": "buyer@acme.test", "subject": "Price list", "body": "Attached."}
        sent = client.post(f"/crm/customers/{ui.customer.pk}/email", email)
    assert sent.status_code == 302 and [m.to for m in mail.outbox] == [["buyer@acme.test"]]
    page = client.get(url)
    assert (
        b"Site visit" in page.content
        and b"Price list" in page.content
        and b"sent to buyer@acme.test" in page.content
    )
    bad = client.post(
        f"/crm/customers/{ui.customer.pk}/email", {"to": "nope", "subject": "", "body": ""}, follow=True
    )
    assert b"Enter a valid email address" in bad.content
    assert Interaction.objects.filter(customer=ui.customer).count() == 2


def test_a_rep_cannot_open_or_move_another_reps_lead_but_the_manager_can(ui, login):
    from oms.kernel.roles import Role
    from tests.ui.world import staff_user

    other_rep = staff_user("rep2", Role.ORDER_DESK)
    theirs = lead_create(contact_name="Ty", company="Theirs Ltd", email="ty@theirs.test", owner=other_rep)
    client = login(ui.users.desk)
    assert client.get(f"/crm/leads/{theirs.pk}/").status_code == 404
    assert client.post(f"/crm/leads/{theirs.pk}/stage", {"to": "contacted"}).status_code == 404
    assert client.post(f"/crm/leads/{theirs.pk}/convert", {}).status_code == 404
    assert b"Theirs Ltd" not in client.get("/crm/leads/").content
    assert Lead.objects.get(pk=theirs.pk).stage == LeadStage.NEW
    manager = login(ui.users.approver)
    assert manager.get(f"/crm/leads/{theirs.pk}/").status_code == 200
    assert b"Theirs Ltd" in manager.get("/crm/leads/pipeline").content

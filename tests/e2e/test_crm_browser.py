"""A sales rep on a phone (390 px) moves a lead through the pipeline with the board's buttons and
converts it into an account, without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from customers.models import Lead
from customers.services import lead_create
from customers.states import LeadStage

from .conftest import horizontal_overflow, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


def test_a_rep_moves_a_lead_through_the_pipeline_and_converts_it_on_a_phone(seeded, phone):
    lead = lead_create(contact_name="Ana Lima", company="Lima Cycles", email="ana@lima.test",
                       owner=seeded.users.desk, address_line1="1 Rua Augusta", city="Lisbon",
                       country="PT")  # fmt: skip
    page = phone
    sign_in(page, seeded.base, "desk")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Leads").click()
    page.wait_for_url(re.compile(r".*/crm/leads/pipeline$"))
    assert horizontal_overflow(page) == 0
    for stage, button in (("contacted", "Move to contacted"), ("qualified", "Move to qualified"),
                          ("proposal", "Move to proposal")):  # fmt: skip
        card = page.locator(f'article[data-lead="{lead.pk}"]')
        box = card.get_by_role("button", name=button).bounding_box()
        assert box and box["height"] >= 44  # a touch target
        card.get_by_role("button", name=button).click()
        expect(page.locator(f'section[data-stage="{stage}"] article[data-lead="{lead.pk}"]')).to_be_visible()
    shot(page, "crm-pipeline-phone")
    page.locator(f'article[data-lead="{lead.pk}"]').get_by_role("link", name="Lima Cycles").click()
    expect(page.locator("[data-stage]").first).to_have_text("Proposal")
    page.get_by_role("button", name="Convert").click()
    page.wait_for_url(re.compile(r".*/customers/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lima Cycles")
    assert horizontal_overflow(page) == 0
    lead.refresh_from_db()
    assert lead.stage == LeadStage.WON and lead.customer.sites.get().city == "Lisbon"
    assert list(Lead.objects.get(pk=lead.pk).events.values_list("after", flat=True)) == [
        "new", "contacted", "qualified", "proposal", "won"
    ]  # fmt: skip

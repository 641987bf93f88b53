"""The console (Django admin) for staff: linked from the staff menu, the process step editor
fits 1366 px, frozen processes are read-only, lifecycle records cannot be deleted in bulk; and
/favicon.ico answers."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from fulfillment.models import ProcessDefinition
from fulfillment.seeding import processes_seed
from fulfillment.services import definition_new_version
from fulfillment.states import DefinitionStatus
from tests.support.otp import totp_code, totp_device
from tests.ui.world import PASSWORD

from .conftest import DESKTOP, PHONE, horizontal_overflow, shot, sign_in
from .test_screens_browser import fulfilled as fulfilled  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_staff_menu_links_to_the_console_for_users_who_may_use_it(seeded, browser, viewport):
    get_user_model().objects.create_user(username="norole", password="correct-horse-battery", is_staff=True)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, seeded.base, "picker")
        if viewport is PHONE:
            page.get_by_role("button", name="Menu").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Console").click()
        # The admin always asks for the second factor (docs/security.md), then opens.
        page.wait_for_url(re.compile(r"/accounts/2fa/verify/"))
        picker = get_user_model().objects.get(username="picker")
        page.get_by_label("Code").fill(totp_code(totp_device(picker)))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
        assert "/admin/" in page.url
        context.clear_cookies()
        sign_in(page, seeded.base, "norole")  # staff without a role: nothing to do in the console
        expect(page.get_by_role("link", name="Console")).to_have_count(0)
    finally:
        context.close()


def test_process_editor_fits_1366_and_published_processes_are_read_only(seeded, desktop):
    page, base = desktop, seeded.base
    processes_seed()
    published = ProcessDefinition.objects.filter(status=DefinitionStatus.PUBLISHED).order_by("pk").first()
    draft = definition_new_version(definition_id=published.pk)
    sign_in(page, base, "boss")

    page.goto(f"{base}/admin/fulfillment/processdefinition/{draft.pk}/change/")
    expect(page.locator("input[name=_save]")).to_have_count(1)
    assert horizontal_overflow(page) <= 0, horizontal_overflow(page)
    shot(page, "console-process-draft-desktop")

    page.goto(f"{base}/admin/fulfillment/processdefinition/{published.pk}/change/")
    expect(page.get_by_role("heading", name="View process definition")).to_be_visible()
    expect(page.locator("input[name=_save], input[name=_continue], input[name=_addanother]")).to_have_count(0)
    expect(page.locator("a.deletelink")).to_have_count(0)
    assert horizontal_overflow(page) <= 0
    shot(page, "console-process-published-desktop")


def test_lifecycle_records_offer_no_delete_selected(fulfilled, desktop):
    page, base = desktop, fulfilled.base
    get_user_model().objects.create_user(username="boss", password=PASSWORD, is_staff=True, is_superuser=True)
    sign_in(page, base, "boss")
    for changelist in (
        "orders/salesorder/",
        "fulfillment/shipment/",
        "fulfillment/stepinstance/?status__exact=completed",
    ):
        page.goto(f"{base}/admin/{changelist}")
        assert page.locator("#result_list tbody tr").count() >= 1, changelist
        expect(page.locator("select[name=action] option[value=delete_selected]")).to_have_count(0)
        expect(page.locator("a.deletelink")).to_have_count(0)
    # The step instances keep their own actions.
    expect(page.locator("select[name=action] option[value=retry]")).to_have_count(1)


def test_favicon_is_served(seeded, desktop):
    response = desktop.request.get(f"{seeded.base}/favicon.ico")
    assert response.ok and response.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert response.body()[:4] == b"\x00\x00\x01\x00"

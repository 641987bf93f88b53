"""Passkeys as the second factor, in Chromium with a virtual authenticator (DevTools WebAuthn)."""

from __future__ import annotations

import pytest
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from tests.ui.world import PASSWORD

from .conftest import WATCH_CSP, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


def test_a_finance_user_adds_a_passkey_then_signs_in_with_it_instead_of_the_code(seeded, browser, settings):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [seeded.base]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    try:
        base = seeded.base
        sign_in(page, base, "finance")  # password + the authenticator app's code
        page.goto(f"{base}/accounts/2fa/")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.locator("#passkey-register-status-message")).not_to_be_empty()
        finance = seeded.users.finance
        assert WebAuthnCredential.objects.filter(user=finance, confirmed=True).count() == 1

        page.get_by_role("button", name="Sign out").click()
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill("finance")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/orders/")
        expect(page).to_have_url(f"{base}/accounts/2fa/verify/?next=%2Forders%2F")
        page.get_by_role("button", name="Use a passkey").click()
        page.wait_for_url(f"{base}/orders/")
        expect(page.get_by_role("heading", name="Orders")).to_be_visible()
        assert page.evaluate("window.__violations") == []
    finally:
        context.close()

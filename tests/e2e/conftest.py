"""Browser tests: Debian's Chromium driven by Playwright against Django's live server, seeded
through the same services people use. Screenshots go to var/screenshots/ (kept by CI)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run beside one.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.support.browser import find_chromium
from tests.support.otp import recovery_code, totp_code, totp_device
from tests.ui.world import PASSWORD, build_ui_world

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
# OMS_CHROMIUM, a system Chromium or Playwright's download; without one these tests are skipped
# and announced (tests/conftest.py), or the run fails under OMS_REQUIRE_SERVICES=1.
CHROMIUM = find_chromium()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Recorded from the first script that runs on each page, before any of ours.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(
    e.violatedDirective + " blocked " + e.blockedURI + " at " + e.sourceFile + ":" + e.lineNumber
  );
});
"""

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # One xdist worker runs them all: one browser, one live server, no contention.
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:  # collection skips these tests first; this guards a direct fixture use
        pytest.skip("needs Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def seeded(transactional_db, live_server):
    world = build_ui_world()
    world.base = live_server.url
    return world


def _new_page(browser, viewport):
    context = browser.new_context(viewport=viewport, device_scale_factor=1, locale="en-US")
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def desktop(browser):
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    context, page = _new_page(browser, PHONE)
    yield page
    context.close()


def sign_in(page, base: str, username: str) -> None:
    """Password, then (for the roles that need it, OMS_2FA_REQUIRED_ROLES) the second factor:
    the authenticator's current code, or a recovery code when this time step's code was used."""
    user = get_user_model().objects.get(username=username)
    device = totp_device(user)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/(accounts/2fa/verify/.*)?$"))
    if "/accounts/2fa/verify/" in page.url:
        device.refresh_from_db()
        code = totp_code(device) if device.last_t < time.time() // device.step else recovery_code(user)
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(f"{base}/")


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    page.wait_for_load_state("domcontentloaded")  # a navigation a click started has a body first
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"
    )

"""Sign-in lockout, two-factor sign-in, security headers, the CSP report sink and the access log."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.kernel.accesslog import access_log_prune
from oms.kernel.models import AccessLogEntry
from oms.kernel.roles import Role
from tests.support.otp import login_verified, totp_code, totp_device
from tests.ui.world import PASSWORD, build_ui_world, staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

LOCKED = "Too many failed sign-in attempts"


@pytest.fixture
def ui(db):
    return build_ui_world()


def _sign_in(client: Client, username: str, password: str, address: str):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


# --- lockout -------------------------------------------------------------------------------------


def test_sixth_wrong_password_locks_user_and_address_until_an_admin_unlocks(ui, caplog):
    client = Client()
    for attempt in range(1, 6):
        response = _sign_in(client, "desk", "wrong", "10.0.0.1")
        assert response.status_code == 200, attempt
        assert "did not match" in response.content.decode()
    with caplog.at_level(logging.WARNING, logger="oms.security"):
        sixth = _sign_in(client, "desk", "wrong", "10.0.0.1")
    assert sixth.status_code == 429 and LOCKED in sixth.content.decode()
    assert any("sign-in locked out" in r.getMessage() and "desk" in r.getMessage() for r in caplog.records)

    # Locked for the cool-off: the right password, the same user elsewhere, another user here.
    assert _sign_in(client, "desk", PASSWORD, "10.0.0.1").status_code == 429
    assert _sign_in(Client(), "desk", PASSWORD, "10.0.0.2").status_code == 429
    assert _sign_in(Client(), "picker", PASSWORD, "10.0.0.1").status_code == 429
    assert _sign_in(Client(), "picker", PASSWORD, "10.0.0.3").status_code == 302

    # An admin unlocks the user (the user admin's action); the address keeps its own count.
    admin = login_verified(Client(), ui.users.admin)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "unlock_sign_in", "_selected_action": [ui.users.desk.pk]},
        follow=True,
    )
    assert "Sign-in unlocked for 1 user" in response.content.decode()
    assert _sign_in(Client(), "desk", PASSWORD, "10.0.0.2").status_code == 302


def test_lockout_message_is_the_same_for_an_unknown_user(ui):
    def locked_page(username: str, address: str) -> str:
        client = Client()
        for _ in range(5):
            _sign_in(client, username, "wrong", address)
        response = _sign_in(client, username, "wrong", address)
        assert response.status_code == 429
        # The page differs only in its per-request CSRF token.
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", response.content.decode())

    known = locked_page("desk", "10.0.1.1")
    unknown = locked_page("nobody-by-this-name", "10.0.1.2")
    assert LOCKED in known and known == unknown
    # Before the lockout, too: one message whether or not the user exists.
    first_known = _sign_in(Client(), "picker", "wrong", "10.0.1.3").content.decode()
    first_unknown = _sign_in(Client(), "ghost", "wrong", "10.0.1.4").content.decode()
    assert "did not match" in first_known and "did not match" in first_unknown


# --- two-factor sign-in ---------------------------------------------------------------------------


def _every_staff_path(ui) -> list[str]:
    """Every route of the staff UI (ui, orders, inventory), with sample arguments, plus the admin."""
    from django.urls import URLPattern, URLResolver, get_resolver

    sample = {"number": ui.open_order.number, "pk": ui.customer.pk, "panel": "holds", "step_id": 1,
              "line_id": 1, "hold_id": 1, "source": "x", "action": "approve"}  # fmt: skip
    paths = []
    for top in get_resolver().url_patterns:
        if isinstance(top, URLResolver) and top.namespace in {"ui", "orders", "inventory"}:
            for p in top.url_patterns:
                if isinstance(p, URLPattern) and p.name != "manifest":
                    route = str(top.pattern) + str(p.pattern)
                    paths.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(sample[m.group(1)]), route))
    return [*paths, "/admin/", "/admin/orders/salesorder/", "/admin/kernel/accesslogentry/"]


def test_finance_user_reaches_no_staff_page_nor_the_admin_without_the_second_factor(ui):
    finance = ui.users.finance
    finance.is_staff = True
    finance.save(update_fields=["is_staff"])
    totp_device(finance)
    client = Client()
    assert _sign_in(client, "finance", PASSWORD, "10.0.2.1").status_code == 302
    pages = _every_staff_path(ui)
    assert len(pages) > 30 and f"/orders/{ui.open_order.number}/" in pages
    for path in pages:
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 302, (path, method)
            assert response["Location"].startswith("/accounts/2fa/verify/?next="), path
    api = client.get("/api/v1/channels/")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"
    assert not AccessLogEntry.objects.exists()  # nothing was shown, so nothing was logged

    # The code from the app opens them.
    device = TOTPDevice.objects.get(user=finance)
    verified = client.post("/accounts/2fa/verify/", {"otp_token": totp_code(device), "next": "/orders/"})
    assert verified.status_code == 302 and verified["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200
    assert client.get("/api/v1/channels/").status_code == 200


def test_a_required_role_without_a_device_is_sent_to_enrol_and_enrols_with_the_qr_code(ui):
    client = Client()
    _sign_in(client, "approver", PASSWORD, "10.0.3.1")
    response = client.get("/orders/")
    assert response["Location"].startswith("/accounts/2fa/setup/?next=")
    setup = client.get(response["Location"])
    page = setup.content.decode()
    assert setup.status_code == 200 and 'src="data:image/svg+xml' in page
    device = TOTPDevice.objects.get(user=ui.users.approver, confirmed=False)
    wrong = client.post("/accounts/2fa/setup/", {"otp_token": "000000", "next": "/orders/"})
    assert "does not match" in wrong.content.decode()
    # A wrong code makes the device wait (django-otp's throttle: 1 s, doubling per failure).
    time.sleep(1.1)
    done = client.post("/accounts/2fa/setup/", {"otp_token": totp_code(device), "next": "/orders/"})
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/orders/").status_code == 200


def test_a_recovery_code_works_once(ui):
    finance = ui.users.finance
    totp_device(finance)
    enrolled = login_verified(Client(), finance)
    page = enrolled.post("/accounts/2fa/recovery-codes").content.decode()
    code = re.findall(r"<li><code>(\w+)</code></li>", page)[0]

    first = Client()
    _sign_in(first, "finance", PASSWORD, "10.0.4.1")
    used = first.post("/accounts/2fa/verify/", {"otp_token": code, "next": "/"})
    assert used.status_code == 302 and used["Location"] == "/"
    assert first.get("/orders/").status_code == 200
    assert StaticDevice.objects.get(user=finance).token_set.count() == 9

    second = Client()
    _sign_in(second, "finance", PASSWORD, "10.0.4.2")
    refused = second.post("/accounts/2fa/verify/", {"otp_token": code, "next": "/"})
    assert refused.status_code == 200 and "not valid" in refused.content.decode()
    assert second.get("/orders/").status_code == 302


def test_second_factor_is_optional_for_other_roles_but_the_admin_always_asks(ui):
    client = Client()
    _sign_in(client, "desk", PASSWORD, "10.0.5.1")
    assert client.get("/orders/").status_code == 200
    assert client.get("/admin/")["Location"].startswith("/accounts/2fa/setup/")


def test_required_roles_come_from_settings(ui, settings):
    settings.OMS_2FA_REQUIRED_ROLES = [Role.ORDER_DESK.value]
    desk, finance = Client(), Client()
    _sign_in(desk, "desk", PASSWORD, "10.0.6.1")
    _sign_in(finance, "finance", PASSWORD, "10.0.6.2")
    assert desk.get("/orders/").status_code == 302
    assert finance.get("/orders/").status_code == 200


def test_an_admin_resets_a_lost_second_factor(ui):
    picker = staff_user("lostphone", Role.FINANCE)
    totp_device(picker)
    admin = login_verified(Client(), ui.users.admin)
    admin.post("/admin/auth/user/", {"action": "reset_second_factor", "_selected_action": [picker.pk]})
    assert not TOTPDevice.objects.filter(user=picker).exists()
    client = Client()
    _sign_in(client, "lostphone", PASSWORD, "10.0.7.1")
    assert client.get("/")["Location"].startswith("/accounts/2fa/setup/")


# --- headers and the CSP report sink ---------------------------------------------------------------


def test_pages_carry_the_security_headers_with_a_fresh_nonce(ui):
    client = login_verified(Client(), ui.users.desk)
    first, second = client.get("/orders/"), client.get("/orders/")
    csp = first["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "report-uri /csp-report" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", csp)
    if nonce:  # only pages that use it carry one; never the same twice
        assert nonce.group(1) not in second["Content-Security-Policy"]
    assert first["Referrer-Policy"] == "same-origin"
    assert first["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in first["Permissions-Policy"] and "geolocation=()" in first["Permissions-Policy"]
    assert first["X-Frame-Options"] == "DENY"
    assert first["X-Content-Type-Options"] == "nosniff"
    body = first.content.decode()
    assert "style=" not in body and "<script>" not in body
    login = Client().get("/accounts/login/")
    assert "Content-Security-Policy" in login and login["Referrer-Policy"] == "same-origin"


def test_csp_violation_reports_are_logged(client, caplog):
    report = {
        "csp-report": {
            "document-uri": "https://oms.example/orders/",
            "violated-directive": "script-src-elem",
            "blocked-uri": "inline",
        }
    }
    with caplog.at_level(logging.WARNING, logger="oms.security"):
        response = client.post("/csp-report", json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    assert any("script-src-elem" in r.getMessage() and "/orders/" in r.getMessage() for r in caplog.records)
    assert client.post("/csp-report", b"not json", content_type="application/csp-report").status_code == 400
    assert client.get("/csp-report").status_code == 405


# --- access log ------------------------------------------------------------------------------------


def test_opening_an_order_and_a_customer_writes_one_row_each_and_the_admin_finds_them(ui):
    desk = login_verified(Client(), ui.users.desk)
    order = ui.open_order
    assert desk.get(f"/orders/{order.number}/", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert desk.get(f"/customers/{ui.customer.pk}/", REMOTE_ADDR="10.1.2.3").status_code == 200
    rows = list(AccessLogEntry.objects.order_by("id"))
    assert [(r.kind, r.object_ref, r.username, r.ip) for r in rows] == [
        ("order", order.number, "desk", "10.1.2.3"),
        ("customer", str(ui.customer.pk), "desk", "10.1.2.3"),
    ]
    assert rows[0].path == f"/orders/{order.number}/" and rows[0].at <= timezone.now()

    admin = login_verified(Client(), ui.users.admin)
    found = admin.get("/admin/kernel/accesslogentry/", {"q": order.number}).content.decode()
    assert order.number in found and "desk" in found
    by_customer = admin.get("/admin/kernel/accesslogentry/", {"kind__exact": "customer"}).content.decode()
    assert f">{ui.customer.pk}<" in by_customer
    assert admin.get(f"/admin/kernel/accesslogentry/{rows[0].pk}/delete/").status_code == 403


def test_an_export_is_logged_with_its_query(ui):
    desk = login_verified(Client(), ui.users.desk)
    desk.get("/orders/export.csv", {"status": "open"})
    entry = AccessLogEntry.objects.get()
    assert (entry.kind, entry.action, entry.object_ref) == ("export", "export", "orders.csv")
    assert entry.path == "/orders/export.csv?status=open"


def test_prune_forgets_rows_older_than_the_retention(ui, settings):
    settings.OMS_ACCESS_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (40, 31, 29, 1):
        AccessLogEntry.objects.create(
            username="desk", kind="order", object_ref=f"SO-{days}", path="/", at=now - timedelta(days=days)
        )
    assert access_log_prune(now=now) == 2
    assert sorted(AccessLogEntry.objects.values_list("object_ref", flat=True)) == ["SO-1", "SO-29"]

"""Each role sees and does only what it may: checked on the server, for pages and for actions."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from orders.models import OrderHold, SalesOrder
from orders.states import OrderStatus

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

# page -> users who may open it (the others get 403; nobody signed in goes to the sign-in page)
PAGES = {
    "/": {"desk", "approver", "picker", "finance", "pricer", "boss"},
    "/orders/": {"desk", "approver", "picker", "finance", "boss"},
    "/orders/new/": {"desk", "boss"},
    "/workbench/": {"desk", "approver", "picker", "finance", "boss"},
    "/customers/": {"desk", "approver", "finance", "boss"},
    "/inventory/": {"picker", "boss"},
    "/inventory/purchase-orders/": {"picker", "boss"},
    "/inventory/movements/": {"picker", "boss"},
    "/fulfillment/shipments/": {"picker", "boss"},
    "/rebates/": {"finance", "boss"},
    "/rebates/claims/": {"finance", "boss"},
    "/rebates/accruals/": {"finance", "boss"},
    "/crm/leads/": {"desk", "approver", "boss"},
    "/crm/leads/pipeline": {"desk", "approver", "boss"},
    "/crm/follow-ups/": {"desk", "approver", "boss"},
    "/crm/leads/new": {"desk", "approver", "boss"},
}
USERS = ("desk", "approver", "picker", "finance", "pricer", "boss")


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_are_open_only_to_their_roles(ui, client, login, path):
    for name in USERS:
        client.logout()
        login(
            getattr(ui.users, {"picker": "fulfillment", "pricer": "pricing", "boss": "admin"}.get(name, name))
        )
        status = client.get(path).status_code
        assert status == (200 if name in PAGES[path] else 403), (path, name, status)


def test_anonymous_is_sent_to_sign_in(client, ui):
    for path in [*PAGES, f"/orders/{ui.open_order.number}/", "/orders/export.csv"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_sign_in_page_signs_in_and_goes_to_the_dashboard(client, ui):
    from .world import PASSWORD

    response = client.post("/accounts/login/", {"username": "desk", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "New order" in page and "Stock" not in page  # the menu follows the role


def test_every_ui_view_declares_its_roles():
    """No screen can be added without a server-side role check (the manifest is public)."""
    public = {"ui:manifest"}
    missing = []

    def walk(patterns, ns=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in {"ui", "orders", "inventory", "fulfillment", "documents"}:
                    walk(p.url_patterns, p.namespace)
            elif isinstance(p, URLPattern) and ns:
                name = f"{ns}:{p.name}"
                if name not in public and not getattr(p.callback, "required_roles", None):
                    missing.append(name)

    walk(get_resolver().url_patterns)
    assert not missing, missing


def test_non_approver_cannot_approve_and_nothing_changes(ui, login):
    order = ui.pending_order
    for user in (ui.users.desk, ui.users.finance, ui.users.fulfillment):
        client = login(user)
        response = client.post(f"/orders/{order.number}/approve", {"version": order.version, "reason": ""})
        assert response.status_code == 403
        client.logout()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_APPROVAL


def test_approver_approves_from_the_detail_page(ui, login):
    order = ui.pending_order
    client = login(ui.users.approver)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Approve order" in page
    response = client.post(
        f"/orders/{order.number}/approve", {"version": order.version, "reason": "ok"}, follow=True
    )
    assert "The order was approved." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN


def test_approve_button_is_not_offered_to_a_non_approver(ui, login):
    page = login(ui.users.desk).get(f"/orders/{ui.pending_order.number}/").content.decode()
    assert "Approve order" not in page


def test_mass_approve_needs_the_approver_role(ui, login):
    client = login(ui.users.desk)  # sees the approval queue, may not decide
    response = client.post(
        "/workbench/approvals/action",
        {"action": "approve", "ids": [ui.pending_order.pk], "confirm": "yes"},
        follow=True,
    )
    assert "not approved" in response.content.decode()
    assert SalesOrder.objects.get(pk=ui.pending_order.pk).status == OrderStatus.PENDING_APPROVAL


def test_fulfillment_cannot_release_a_hold(ui, login):
    response = login(ui.users.fulfillment).post(
        f"/orders/{ui.held_order.number}/holds/{ui.hold.pk}/release", {"version": 1, "reason": "x"}
    )
    assert response.status_code == 403
    assert OrderHold.objects.get(pk=ui.hold.pk).released_at is None


def test_inventory_writes_are_refused_to_the_order_desk(ui, login):
    client = login(ui.users.desk)
    assert client.post("/inventory/reorder/run").status_code == 403
    adjustment = {
        "warehouse": "wh-east",
        "sku": "DRILL-1",
        "quantity": "-1",
        "kind": "adjustment",
        "reason": "x",
    }
    assert client.post("/inventory/adjust", adjustment).status_code == 403

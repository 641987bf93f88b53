from __future__ import annotations

import re
from base64 import b32encode
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import Invoice
from catalog.models import Product
from customers.models import Customer
from fulfillment.models import ChangeCostPolicy, ChangeCostRule
from inventory.models import (
    ChannelWarehouse,
    PurchaseOrder,
    ReorderRule,
    Reservation,
    StockMovement,
    StockPosition,
    Warehouse,
)
from orders.models import HoldCode, OrderEvent, SalesOrder
from partners.models import Channel
from partners.services import channel_key_authenticate
from reporting import selectors

pytestmark = pytest.mark.integration


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_shows_every_feature_and_a_second_run_creates_nothing_new(monkeypatch):
    """One test, because each seeding of a month of orders costs seconds: the second run creates
    nothing and says 0 new everywhere; the data shows a month across every channel and every
    exception the OMS handles (the helper below)."""
    monkeypatch.setenv("OMS_DEMO_PASSWORD", "demo-pass-123")
    first = _seed()
    counts = _row_counts()
    second = _seed()

    assert _row_counts() == counts
    # Honest counts: the first run created rows of every kind, the second run none.
    first_new = re.findall(r"^  (\S.*?)\s+\d+/\d+  \((\d+) new\)$", first, flags=re.M)
    second_new = re.findall(r"^  (\S.*?)\s+\d+/\d+  \((\d+) new\)$", second, flags=re.M)
    assert [label for label, _ in first_new] == [label for label, _ in second_new]
    assert len(second_new) >= 14 and "channel warehouses" in dict(second_new)
    assert all(int(n) > 0 for _, n in first_new), first_new
    assert [(label, n) for label, n in second_new if n != "0"] == []
    assert Channel.objects.count() == 6 and Warehouse.objects.count() == 4
    assert Product.objects.count() == 301 and Customer.objects.count() >= 60  # 300 + a special order
    assert StockPosition.objects.count() > 900
    # The sales pipeline: every open stage, a lost and a won lead, follow-ups on someone's list.
    from customers.models import Interaction, Lead

    assert set(Lead.objects.values_list("stage", flat=True)) == {
        "new",
        "contacted",
        "qualified",
        "proposal",
        "won",
        "lost",
    }
    assert (
        Interaction.objects.filter(follow_up_on__isnull=False, follow_up_owner__username="orderdesk").count()
        >= 3
    )
    # The ledger was written once: on-hand across the board equals the sum of movements.
    assert (
        StockPosition.objects.aggregate(s=Sum("on_hand"))["s"]
        == StockMovement.objects.aggregate(s=Sum("quantity"))["s"]
    )

    web_key = next(
        line.split(": ", 1)[1] for line in first.splitlines() if line.strip().startswith("web: ck_")
    )
    assert channel_key_authenticate(web_key).channel.code == "web"
    assert "ck_" not in second and "Issue a new API key" in second
    assert "Admin login: admin / demo-pass-123" in first
    assert "products" in first and "300/300" in first

    admin = apps.get_model("auth", "User").objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("demo-pass-123")
    # The demo admin signs in with a second factor whose secret the command prints (every run).
    device = TOTPDevice.objects.get(user=admin, confirmed=True)
    secret = b32encode(device.bin_key).decode()
    assert f"Admin TOTP secret: {secret}" in first and f"Admin TOTP secret: {secret}" in second
    assert (
        apps.get_model("auth", "User")
        .objects.get(username="orderdesk")
        .groups.filter(name="Order desk")
        .exists()
    )
    # Sourcing, replenishment and a few orders captured through the real pipeline.
    assert ChannelWarehouse.objects.filter(channel__code="web").count() == 4
    assert ReorderRule.objects.count() > 100
    demo = SalesOrder.objects.filter(source_order_id__startswith="DEMO-", is_current=True)
    assert demo.count() >= 60 and "demo orders" in first
    assert all(order.lines.exists() and order.total > 0 for order in demo)
    assert Reservation.objects.filter(demand_type="order_line").exists()
    _shows_a_month_across_every_channel_and_every_exception()
    _shows_rebate_programs_of_every_type_with_accruals()
    policies = dict(Channel.objects.values_list("code", "trusted_prices"))
    assert policies["marketplace"] and policies["import"] and not policies["web"]
    assert Channel.objects.get(code="pos").reserve_at_capture


def _shows_a_month_across_every_channel_and_every_exception() -> None:
    orders = SalesOrder.objects.filter(is_current=True)
    today = timezone.localdate()
    days = {
        d for d in orders.values_list("created_at", flat=True).iterator() for d in [timezone.localdate(d)]
    }
    assert {today - timedelta(days=n) for n in range(30)} <= days  # every day of the last 30
    assert set(orders.filter(created_at__date=today).values_list("channel__code", flat=True)) == {
        "web", "pos", "call_center", "field_sales", "marketplace", "import"
    }  # fmt: skip
    statuses = set(orders.values_list("status", flat=True))
    assert {"open", "pending_approval", "partially_shipped", "closed"} <= statuses
    closed = orders.filter(status="closed")
    assert closed.count() >= 20
    invoices = Invoice.objects.filter(order_number__in=closed.values("number"))
    assert invoices.count() >= closed.count()
    assert invoices.filter(status="paid").exists() and invoices.filter(status="issued").exists()

    counts = selectors.exception_counts()
    assert all(n > 0 for n in counts.values()), counts  # holds, credit, compliance, approvals, ...
    assert {"address-check", "credit", "compliance"} <= dict(selectors.holds_by_code()).keys()
    assert HoldCode.objects.filter(is_system=False).count() >= 3  # "Apply hold" has choices
    # The back-ordered product is being bought in: a purchase order sent to its supplier.
    (demand,) = selectors.open_backorders()
    assert PurchaseOrder.objects.filter(lines__product=demand.product, status="sent").exists()
    assert selectors.low_stock()  # stock that crossed its point with nobody replenishing it
    failed = selectors.failed_steps().get()  # the special-order pump: nobody set up its supplier
    assert failed.last_error.startswith("ValidationFailed") and "supplier" in failed.last_error
    assert selectors.webhook_problems().filter(attempts__gte=3).exists()
    # Orders in jeopardy: alerts raised by the scan, the worst taken by the fulfillment user.
    from fulfillment.models import Holiday, JeopardyAlert, JeopardyPolicy

    assert JeopardyPolicy.objects.filter(process_code="", task_type="", active=True).exists()
    assert Holiday.objects.exists()
    alerts = JeopardyAlert.objects.exclude(status="resolved")
    assert alerts.filter(priority="high").exists() and alerts.count() >= 2
    assert alerts.filter(status="acknowledged", assigned_to__username="fulfillment").count() == 1
    # Cost of change: a revision that lowered a quantity after the shipment request waits for
    # approval with its cost (the admin's rules), shown on the order page.
    costly = orders.get(source_order_id="DEMO-X-COST-OF-CHANGE")
    assert (costly.revision, costly.status) == (2, "pending_approval")
    revised = OrderEvent.objects.get(order=costly, kind="revised")
    assert Decimal(revised.data["change_cost"]["total"]) > 50
    assert ChangeCostRule.objects.count() == 9 and ChangeCostPolicy.objects.filter(channel=None).exists()


def _shows_rebate_programs_of_every_type_with_accruals() -> None:
    from rebates.models import Accrual, JournalLine, ProgramType, RebateProgram

    for ptype in ProgramType.values:
        assert Accrual.objects.filter(program__program_type=ptype, program__status="active").exists(), ptype
    assert Accrual.objects.filter(kind="adjustment").exists()  # the retrospective tier was re-rated
    assert Accrual.objects.filter(currency="EUR").exists() and Accrual.objects.filter(currency="USD").exists()
    assert Accrual.objects.filter(basis__remainder_of_maximum__isnull=False).exists()  # S&D maximum crossed
    assert {"draft", "pending_approval", "active"} <= set(
        RebateProgram.objects.values_list("status", flat=True)
    )
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"] > 0

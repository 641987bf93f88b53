"""A back office to click through: channels, priced products with stock, customers, hold codes,
an approval rule, staff in every role, and orders captured through the submission service."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from oms.kernel.roles import Role, role_sync
from orders.actors import Actor
from orders.inputs import CustomerInput, LineInput, OrderInput
from orders.services import hold_apply, order_submit
from tests.factories.customers import CustomerFactory, CustomerSiteFactory
from tests.factories.orders import ApprovalRuleFactory, HoldCodeFactory
from tests.orders.conftest import build_world

PASSWORD = "correct-horse-battery"


def staff_user(username: str, *roles: Role, superuser: bool = False):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=True, is_superuser=superuser
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=Role(role).label))
    return user


def submit(world, desk, source: str, lines: list[tuple[str, str]], account: str = "C-1"):
    return order_submit(
        channel=world.web.channel,
        actor=Actor.for_user(desk),
        data=OrderInput(
            source_order_id=source,
            customer=CustomerInput(account_number=account),
            currency="USD",
            lines=tuple(
                LineInput(source_line_id=str(n), sku=sku, quantity=Decimal(qty))
                for n, (sku, qty) in enumerate(lines, start=1)
            ),
        ),
    ).order


def build_ui_world() -> SimpleNamespace:
    role_sync()
    world = build_world()
    world.customer.name = "Acme Tools Inc."
    world.customer.save(update_fields=["name"])
    other = CustomerFactory(account_number="C-2", name="Globex Hardware", credit_limit=Decimal("100000"))
    CustomerSiteFactory(customer=other, country="US", region="PA")
    HoldCodeFactory(
        code="manual", name="Manual review", apply_roles=["order_desk"], release_roles=["order_desk"]
    )
    ApprovalRuleFactory(name="Large order", threshold=Decimal("5000"), threshold_currency="USD")
    world.users = SimpleNamespace(
        desk=staff_user("desk", Role.ORDER_DESK),
        approver=staff_user("approver", Role.APPROVER),
        fulfillment=staff_user("picker", Role.FULFILLMENT),
        finance=staff_user("finance", Role.FINANCE),
        pricing=staff_user("pricer", Role.PRICING_ADMIN),
        admin=staff_user("boss", superuser=True),
    )
    desk = world.users.desk
    world.open_order = submit(world, desk, "SEED-1", [("DRILL-1", "2"), ("SAW-1", "1")])
    world.held_order = submit(world, desk, "SEED-2", [("SAW-1", "3")], account="C-2")
    world.hold = hold_apply(
        order_id=world.held_order.pk, actor=Actor.for_user(desk), code="manual", reason="Check the address"
    )
    world.pending_order = submit(world, desk, "SEED-3", [("DRILL-1", "60")])
    return world

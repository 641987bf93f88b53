"""Staff roles, defined once: each is a Django group with the permissions it needs.

Permissions are named by "app_label.codename" strings, so the kernel imports no app; those whose
model does not exist yet are skipped and picked up by the next migrate (post_migrate sync).
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ORDER_DESK = "order_desk", "Order desk"
    FULFILLMENT = "fulfillment", "Fulfillment"
    PRICING_ADMIN = "pricing_admin", "Pricing admin"
    FINANCE = "finance", "Finance"
    APPROVER = "approver", "Approver"
    ADMIN = "admin", "Administrator"


def _crud(*models_: str) -> set[str]:
    out: set[str] = set()
    for dotted in models_:
        app, model = dotted.split(".")
        out |= {f"{app}.{verb}_{model}" for verb in ("view", "add", "change", "delete")}
    return out


def _view(*models_: str) -> set[str]:
    return {f"{d.split('.')[0]}.view_{d.split('.')[1]}" for d in models_}


_REFERENCE = (
    "catalog.product",
    "catalog.brand",
    "catalog.category",
    "customers.customer",
    "customers.customersite",
    "customers.contact",
    "partners.channel",
)

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ORDER_DESK: _view(*_REFERENCE)
    | _crud("orders.salesorder", "orders.orderline", "orders.orderhold")
    | _crud("customers.customer", "customers.customersite", "customers.contact"),
    Role.FULFILLMENT: _view(*_REFERENCE, "orders.salesorder", "orders.orderline")
    | _crud("inventory.warehouse", "inventory.stockposition", "inventory.stockmovement")
    | _crud(
        "inventory.reservation",
        "inventory.demand",
        "inventory.reorderrule",
        "inventory.purchaseorder",
        "inventory.purchaseorderline",
        "inventory.transfer",
        "inventory.transferline",
        "inventory.channelwarehouse",
        "inventory.allocationrule",
    )
    | _view("inventory.documentevent")
    | _crud("fulfillment.fulfillmentline", "fulfillment.shipment")
    # The jeopardy policy console and the planning calendar; alerts are acted on in the workbench.
    | _crud(
        "fulfillment.jeopardypolicy",
        "fulfillment.jeopardythreshold",
        "fulfillment.jeopardypriorityrange",
        "fulfillment.holiday",
    )
    | _view("fulfillment.jeopardyalert", "fulfillment.jeopardyscan")
    | {"fulfillment.change_jeopardyalert"},
    Role.PRICING_ADMIN: _view(*_REFERENCE)
    | _crud(
        "pricing.pricelist",
        "pricing.pricelistitem",
        "pricing.pricetier",
        "pricing.discountrule",
        "pricing.coupon",
        "pricing.exchangerate",
        "pricing.pricingsegment",
        "pricing.segmentmembership",
        "pricing.pricingstrategy",
        "pricing.strategypricelist",
        "pricing.strategyassignment",
        "pricing.taxrule",
        "pricing.shippingrule",
        "pricing.pricingpolicy",
        "pricing.adjustmentreason",
    )
    | _view("pricing.couponredemption", "pricing.pricequote")
    | _crud("catalog.product", "catalog.brand", "catalog.category"),
    Role.FINANCE: _view(*_REFERENCE, "orders.salesorder", "orders.orderline")
    | _crud("billing.invoice", "billing.payment", "rebates.rebateprogram", "rebates.claim")
    | _crud("customers.creditexposure")
    | _crud(
        "rebates.programtier", "rebates.shipdebitauthorization", "rebates.pricedrop", "rebates.accountcode"
    )
    | _view("rebates.accrual", "rebates.journalentry", "rebates.journalline", "rebates.rebateevent")
    | _view("rebates.claimline", "rebates.claimsettlement")
    | _view("catalog.supplier", "pricing.pricingsegment", "inventory.warehouse"),
    Role.APPROVER: _view(*_REFERENCE, "orders.salesorder", "orders.orderline")
    | {"orders.approve_salesorder"},
    Role.ADMIN: {"*"},
}


def role_sync() -> None:
    """Create or update the role groups; idempotent."""
    from django.contrib.auth.models import Group, Permission

    all_perms = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=Role(role).label)
        perms = (
            list(all_perms.values()) if "*" in wanted else [all_perms[w] for w in wanted if w in all_perms]
        )
        group.permissions.set(perms)


def user_has_role(user, role: Role) -> bool:
    """Staff only: a deactivated user, or an API principal (channel key, partner), has no role."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return False
    if getattr(user, "is_superuser", False):
        return True
    groups = getattr(user, "groups", None)
    return groups is not None and groups.filter(name=Role(role).label).exists()


def connect_role_sync() -> None:
    from django.db.models.signals import post_migrate

    def _sync(sender, **kwargs):
        if sender.label == "kernel":
            role_sync()

    post_migrate.connect(_sync, weak=False, dispatch_uid="oms.kernel.role_sync")

"""The demo data set, one module per domain, in the order they build on each other.

Each step is idempotent: rows are keyed on natural keys (get_or_create, or bulk_create with
ignore_conflicts and counted before and after), so a second run creates nothing and says so.
"""

from __future__ import annotations

from . import catalog, customers, fulfillment, inventory, orders, partners, pricing, rebates, reporting, users
from .base import Context


def seed_all(ctx: Context) -> None:
    partners.channels(ctx)
    partners.partners(ctx)
    users.users(ctx)
    warehouses = inventory.warehouses(ctx)
    products = catalog.catalog(ctx)
    customers.customers(ctx)
    customers.leads(ctx)
    inventory.stock(ctx, products, warehouses)
    fulfillment.fulfillment(ctx)
    pricing.pricing(ctx, products)
    inventory.sourcing(ctx, products, warehouses)
    orders.orders(ctx, products)
    fulfillment.jeopardy(ctx)
    rebates.rebates(ctx)
    rebates.claims(ctx)
    reporting.reports(ctx)

"""Channels with their API keys, and the warehouse, 3PL and supplier partners with credentials."""

from __future__ import annotations

from partners.models import Channel, ChannelType, Partner, PartnerType
from partners.services import channel_key_issue, partner_credential_issue

from .base import Context

CHANNELS = [
    # code, type, name, reserve_at_capture, trusted_prices, currency
    ("web", ChannelType.WEB, "Web storefront", True, False, "USD"),
    ("pos", ChannelType.POS, "Stores (POS)", True, False, "USD"),
    ("call_center", ChannelType.CALL_CENTER, "Call center", True, False, "USD"),
    # Field reps quote and book ahead; stock is reserved when the order is scheduled.
    ("field_sales", ChannelType.FIELD_SALES, "Field sales", False, False, "USD"),
    ("marketplace", ChannelType.MARKETPLACE, "Marketplace", True, True, "USD"),
    ("import", ChannelType.IMPORT, "Legacy file import", False, True, "USD"),
]

PARTNERS = [
    ("meadowlands-3pl", "Meadowlands Logistics (3PL)", PartnerType.THIRD_PARTY_LOGISTICS, "us-east-nj"),
    ("rotterdam-wms", "Rotterdam DC warehouse system", PartnerType.WAREHOUSE, "eu-rotterdam"),
    ("pacific-3pl", "Pacific Coast Fulfillment (3PL)", PartnerType.THIRD_PARTY_LOGISTICS, "us-west-ca"),
    ("lionpoint-3pl", "Lionpoint Logistics (3PL)", PartnerType.THIRD_PARTY_LOGISTICS, "apac-singapore"),
    ("northwind-supply", "Northwind Industrial Supply", PartnerType.SUPPLIER, "northwind"),
]

# Every channel is served from these warehouses, in this order (nearest to most customers first).


def channels(ctx: Context) -> None:
    ctx.write("Channels and API keys (a new key is shown once; copy it now):")
    for code, type_, name, reserve, trusted, currency in CHANNELS:
        channel, _ = Channel.objects.get_or_create(
            code=code,
            defaults={
                "type": type_,
                "name": name,
                "reserve_at_capture": reserve,
                "trusted_prices": trusted,
                "default_currency": currency,
            },
        )
        active = channel.api_keys.filter(revoked_at__isnull=True).count()
        if active:
            ctx.write(
                f"    {code}: {active} active key(s) exist (raw keys are never stored); to get "
                "another, use the admin action 'Issue a new API key' on Partners > Channels."
            )
        else:
            ctx.secret(code, channel_key_issue(channel=channel, name="seed_demo").raw_key)


def partners(ctx: Context) -> None:
    ctx.write("Partners and credentials:")
    for code, name, type_, ref in PARTNERS:
        partner, _ = Partner.objects.get_or_create(
            code=code, defaults={"name": name, "type": type_, "external_ref": ref}
        )
        if partner.credentials.filter(revoked_at__isnull=True).exists():
            ctx.write(f"    {code}: credential exists (admin action 'Issue a new credential')")
        else:
            ctx.secret(code, partner_credential_issue(partner=partner, name="seed_demo").raw_key)

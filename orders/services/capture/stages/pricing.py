"""Stage: the price of every line and of the order, from pricing's fixed-query snapshot (a
trusted channel's own prices are kept and recorded as the source price)."""

from __future__ import annotations

from customers.models import Customer, CustomerSite
from partners.models import Channel
from pricing.engine import LineRequest, ManualAdjustment, PriceRequest, PriceResult, ShipTo
from pricing.services import price_quote

from ....inputs import OrderInput
from ..context import Capture


def price(c: Capture) -> None:
    c.priced = price_request(
        channel=c.channel,
        customer=c.customer,
        sites=c.sites,
        data=c.data,
        currency=c.currency,
        ship_to=c.ship_to,
        ship_method=c.ship_method,
    )


def price_request(
    *,
    channel: Channel,
    customer: Customer,
    sites: list[CustomerSite] | None,
    data: OrderInput,
    currency: str,
    ship_to: dict,
    ship_method: str,
) -> PriceResult:
    request = PriceRequest(
        currency=currency,
        lines=tuple(
            LineRequest(
                sku=line.sku.strip().upper(),
                quantity=line.quantity,
                uom=line.uom.strip().upper() or None,
                manual_adjustment=ManualAdjustment(
                    kind=line.manual_adjustment.kind,
                    value=line.manual_adjustment.value,
                    reason_code=line.manual_adjustment.reason_code,
                )
                if line.manual_adjustment
                else None,
                source_unit_price=line.unit_price if channel.trusted_prices else None,
            )
            for line in data.lines
        ),
        customer_account=customer.account_number or None,
        channel_code=channel.code,
        ship_to=ShipTo(
            country=ship_to.get("country", ""),
            region=ship_to.get("region", ""),
            postcode=ship_to.get("postcode", ""),
        ),
        ship_method=ship_method or None,
        coupon_codes=tuple(data.coupons),
    )
    # The customer and its active sites, when read for the default addresses, are pricing's too.
    return price_quote(request, customer=(customer, sites) if sites is not None else None)

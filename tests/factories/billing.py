"""Orders with a stored price breakdown, ready to bill (built directly: billing reads only what
capture stores, so the unit tests set exactly those figures)."""

from __future__ import annotations

from decimal import Decimal

from orders.models import OrderLine, SalesOrder
from partners.models import Channel, ChannelType
from tests.factories.catalog import ProductFactory
from tests.factories.customers import CustomerFactory


def shipped_order(
    *, currency: str, lines: list[dict], payment_terms: str = "NET30", credit_amount=None
) -> SalesOrder:
    """`lines`: dicts with quantity, net, shipping, tax (strings); everything counts as shipped."""
    channel, _ = Channel.objects.get_or_create(
        code="billing-test", defaults={"name": "B", "type": ChannelType.WEB}
    )
    customer = CustomerFactory(credit_currency=currency, payment_terms=payment_terms)
    total = sum((Decimal(x["net"]) + Decimal(x["shipping"]) + Decimal(x["tax"]) for x in lines), Decimal(0))
    order = SalesOrder.objects.create(
        number=f"SO-B{SalesOrder.objects.count() + 1:05d}",
        channel=channel,
        source_order_id=f"B-{SalesOrder.objects.count() + 1}",
        status="shipped",
        customer=customer,
        currency=currency,
        payment_terms=payment_terms,
        total=total,
        credit_amount=total if credit_amount is None else credit_amount,
        credit_currency=currency,
    )
    for i, x in enumerate(lines, start=1):
        quantity = Decimal(x["quantity"])
        line_total = Decimal(x["net"]) + Decimal(x["shipping"]) + Decimal(x["tax"])
        OrderLine.objects.create(
            order=order,
            line_number=i,
            source_line_id=str(i),
            product=ProductFactory(),
            quantity=quantity,
            uom="EA",
            unit_net_price=Decimal(x["net"]) / quantity,
            line_total=line_total,
            price_breakdown={
                "net": x["net"],
                "shipping": x["shipping"],
                "tax": x["tax"],
                "total": str(line_total),
            },
            status="shipped",
            shipped_quantity=quantity,
        )
    return order

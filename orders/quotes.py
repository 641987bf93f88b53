"""Quotes: price breakdown plus availability per line (by warehouse and earliest date). Reads
only: nothing is reserved, nothing written (the storefront's pre-checkout call)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from customers.models import Customer
from inventory.models import Warehouse
from inventory.selectors import availability, channel_warehouse_ids
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import validate_currency
from partners.models import Channel
from pricing.engine import LineRequest, PriceRequest, ShipTo
from pricing.services import price_quote


def quote_build(*, channel: Channel, data: dict[str, Any]) -> dict[str, Any]:
    customer_data = data.get("customer") or {}
    account = (customer_data.get("account_number") or "").strip().upper()
    demand_class = "standard"
    if account:
        customer = Customer.objects.filter(account_number=account).only("demand_class").first()
        if customer is None:
            raise ValidationFailed(
                "Unknown customer.", fields={"customer.account_number": ["No such account."]}
            )
        demand_class = customer.demand_class
    try:
        currency = validate_currency(data.get("currency") or channel.default_currency)
    except ValidationFailed as exc:
        raise ValidationFailed("Unknown currency.", fields={"currency": ["Unknown ISO 4217 code."]}) from exc
    ship = data.get("ship_to") or {}
    lines = data["lines"]
    priced = price_quote(
        PriceRequest(
            currency=currency,
            lines=tuple(
                LineRequest(sku=ln["sku"].strip().upper(), quantity=ln["quantity"], uom=ln.get("uom") or None)
                for ln in lines
            ),
            customer_account=account or None,
            channel_code=channel.code,
            ship_to=ShipTo(ship.get("country", ""), ship.get("region", ""), ship.get("postcode", ""))
            if ship
            else None,
            ship_method=data.get("ship_method") or None,
            coupon_codes=tuple(data.get("coupons") or ()),
        )
    )
    skus = [ln.sku for ln in priced.lines]
    warehouse_ids = channel_warehouse_ids(channel_id=channel.pk)
    codes = dict(Warehouse.objects.filter(pk__in=warehouse_ids).values_list("pk", "code"))
    today = timezone.localdate()
    per_warehouse = {
        wid: availability(skus=skus, warehouse_id=wid, demand_class=demand_class, today=today)
        for wid in warehouse_ids
    }
    out_lines = []
    for lp in priced.lines:
        rows = []
        for wid in warehouse_ids:
            sku_av = per_warehouse[wid][lp.sku]
            rows.append(
                {
                    "warehouse": codes.get(wid, str(wid)),
                    "available_now": sku_av.available_by(today),
                    "earliest_date": sku_av.earliest_date(lp.quantity),
                }
            )
        dates = [r["earliest_date"] for r in rows if r["earliest_date"] is not None]
        out_lines.append(
            {
                "sku": lp.sku,
                "quantity": lp.quantity,
                "uom": lp.uom,
                "unit_list_price": lp.unit_list_price,
                "net": lp.net,
                "tax": lp.tax,
                "total": lp.total,
                "components": [
                    {"kind": c.kind, "amount": str(c.amount), "label": c.label} for c in lp.components
                ],
                "availability": rows,
                "earliest_date": min(dates) if dates else None,
            }
        )
    t = priced.totals
    return {
        "currency": priced.currency,
        "lines": out_lines,
        "totals": {
            "list_amount": t.list_amount,
            "discount": t.line_discount + t.order_discount,
            "shipping": t.shipping,
            "tax": t.tax,
            "total": t.total,
        },
        "needs_approval": priced.needs_approval,
        "approval_reasons": list(priced.approval_reasons),
        "coupons": [{"code": c.code, "valid": c.valid, "reason": c.reason} for c in priced.coupons],
    }


__all__ = ["quote_build"]

"""Stages: supersede the current revision (a revision), then write the order, its lines and its
holds, and build their audit rows. Each kind of row is written in one statement."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from customers.services import credit_exposure_adjust
from inventory.selectors import channel_warehouse_ids
from oms.kernel import fastinsert
from oms.kernel.context import get_correlation_id
from oms.kernel.money import round_money

from ....actors import Actor
from ....audit import event_build
from ....models import EventKind, OrderHold, OrderLine, SalesOrder
from ....numbering import order_number_next
from ....states import OPEN_FOR_CREDIT, LineStatus, OrderStatus
from ...holds import system_hold_code
from ...revisions import release_stock_for, revision_check
from ..context import Capture, as_stored


def supersede_current(c: Capture) -> None:
    """A revision takes over from the current one: what was shipped and billed carries over (and
    may not be undercut), its stock and credit exposure are given back, it stops being current."""
    current = c.current
    if current is None:
        return
    c.shipped = revision_check(current, c.data)
    release_stock_for(current)
    if current.status in OPEN_FOR_CREDIT and current.credit_amount:
        credit_exposure_adjust(customer_id=current.customer_id, open_orders_delta=-current.credit_amount)
    SalesOrder.objects.filter(pk=current.pk).update(
        is_current=False, superseded_at=timezone.now(), version=current.version + 1
    )


def persist(c: Capture) -> None:
    channel, actor, data, customer, plan, current = c.channel, c.actor, c.data, c.customer, c.plan, c.current
    totals = c.priced.totals
    # Read before the writes so that lines are born at the first-ranked warehouse (where the
    # reservation nearly always lands) instead of being updated afterwards.
    c.warehouse_ids = channel_warehouse_ids(channel_id=channel.pk) if channel.reserve_at_capture else []
    order = SalesOrder(
        number=current.number if current else order_number_next(),
        channel=channel,
        source_order_id=data.source_order_id,
        revision=data.revision,
        customer_po=data.customer_po,
        status=plan.status,
        customer=customer,
        bill_to=c.bill_to,
        ship_to=c.ship_to,
        currency=c.currency,
        payment_terms=customer.payment_terms,
        ship_method=c.ship_method,
        requested_delivery_date=data.requested_delivery_date,
        demand_class=c.demand_class,
        sales_rep=customer.sales_rep,
        priority=c.priority,
        notes=c.notes,
        subtotal=totals.list_amount,
        discount_total=totals.line_discount + totals.order_discount,
        shipping_total=totals.shipping,
        tax_total=totals.tax,
        total=totals.total,
        credit_amount=plan.credit_amount,
        credit_currency=plan.credit_currency,
        approval_reasons=plan.approval_reasons,
        source_page=c.source_page,
        campaign=c.campaign,
        correlation_id=get_correlation_id(),
        created_by=actor.user,
    )
    fastinsert.insert([order])
    c.order = order
    c.lines = _lines(c, order)
    fastinsert.insert(c.lines)
    c.events = _events(c, order)
    c.holds = [
        OrderHold(
            order=order,
            hold_code=system_hold_code(code),
            reason=reason,
            details=as_stored(details),
            applied_by="system",
        )
        for code, reason, details in plan.holds
    ]
    if c.holds:
        OrderHold.objects.bulk_create(c.holds)
        for hold in c.holds:
            c.events.append(
                event_build(
                    order,
                    Actor.system(),
                    EventKind.HOLD_APPLIED,
                    after={"hold": hold.hold_code.code},
                    reason=hold.reason,
                    data=hold.details,
                )
            )


def _lines(c: Capture, order: SalesOrder) -> list[OrderLine]:
    currency, warehouse_ids = c.currency, c.warehouse_ids
    line_status = (
        LineStatus.PENDING_APPROVAL if c.plan.status == OrderStatus.PENDING_APPROVAL else LineStatus.OPEN
    )
    none = (Decimal(0), Decimal(0))
    return [
        OrderLine(
            order=order,
            line_number=i + 1,
            source_line_id=given.source_line_id,
            product=c.products[given.sku.strip().upper()],
            quantity=given.quantity,
            uom=lp.uom,
            ship_to=c.line_ship_tos[i],
            requested_ship_date=given.requested_ship_date,
            ship_method=given.ship_method or c.ship_method,
            unit_list_price=round_money(lp.list_amount / lp.quantity, currency)
            if lp.quantity
            else Decimal(0),
            unit_net_price=round_money(lp.net / lp.quantity, currency) if lp.quantity else Decimal(0),
            price_breakdown=_breakdown(lp),
            price_source="source" if lp.source_price else "engine",
            line_total=lp.total,
            status=line_status,
            warehouse_id=warehouse_ids[0] if warehouse_ids else None,
            shipped_quantity=c.shipped.get(given.source_line_id, none)[0],
            billed_quantity=c.shipped.get(given.source_line_id, none)[1],
        )
        for i, (given, lp) in enumerate(zip(c.data.lines, c.priced.lines, strict=True))
    ]


def _events(c: Capture, order: SalesOrder) -> list:
    """The audit rows of the capture itself: submitted (or revised), price overrides, approval."""
    actor = c.actor
    events = [
        event_build(
            order,
            actor,
            EventKind.SUBMITTED if c.current is None else EventKind.REVISED,
            after={"status": order.status, "total": str(order.total), "currency": c.currency},
            data={"revision": order.revision, "lines": len(c.lines)}
            | ({"change_cost": c.change_cost.as_dict()} if c.change_cost is not None else {}),
        )
    ]
    for line, lp in zip(c.lines, c.priced.lines, strict=True):
        if lp.source_price or lp.manual_reason_code:
            events.append(
                event_build(
                    order,
                    actor,
                    EventKind.PRICE_OVERRIDE,
                    line=line,
                    after={"unit_net_price": str(line.unit_net_price), "source": line.price_source},
                    reason=lp.manual_reason_code or "source price from a trusted channel",
                )
            )
    if c.plan.approval_reasons:
        events.append(
            event_build(
                order,
                actor,
                EventKind.APPROVAL_REQUESTED,
                after={"status": order.status},
                reason="; ".join(c.plan.approval_reasons),
                data={"change_cost": c.change_cost.as_dict()} if c.change_cost is not None else None,
            )
        )
    return events


def _breakdown(lp) -> dict[str, Any]:
    return as_stored(
        {
            "price_list": lp.price_list,
            "list_amount": str(lp.list_amount),
            "line_discount": str(lp.line_discount),
            "order_discount": str(lp.order_discount),
            "net": str(lp.net),
            "shipping": str(lp.shipping),
            "tax_rate": str(lp.tax_rate),
            "tax": str(lp.tax),
            "total": str(lp.total),
            "components": [
                {"kind": c.kind, "amount": str(c.amount), "label": c.label, "rule": c.rule}
                for c in lp.components
            ],
            "source_price": lp.source_price,
        }
    )

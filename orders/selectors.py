"""Reads for orders. Scoping lives in one place (`orders_visible_to`): a channel key sees only its
channel's orders, staff with a role that views orders see all, anyone else nothing (so another
channel's order is a 404)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from oms.kernel.exceptions import NotFound

from .models import OrderHold, OrderLine, SalesOrder


def orders_visible_to(viewer) -> QuerySet[SalesOrder]:
    qs = SalesOrder.objects.all()
    channel = getattr(viewer, "channel", None)
    if channel is not None:
        return qs.filter(channel=channel)
    # Staff see every channel's orders when one of their roles lets them view orders.
    if getattr(viewer, "is_staff", False) and viewer.has_perm("orders.view_salesorder"):
        return qs
    return qs.none()


def _with_details(qs: QuerySet[SalesOrder]) -> QuerySet[SalesOrder]:
    return qs.select_related("channel", "customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("line_number")),
        Prefetch("holds", queryset=OrderHold.objects.select_related("hold_code").order_by("id")),
    )


def order_get(*, viewer, number: str, revision: int | None = None) -> SalesOrder:
    qs = orders_visible_to(viewer).filter(number=number)
    qs = qs.filter(revision=revision) if revision else qs.filter(is_current=True)
    order = _with_details(qs).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def order_by_source(*, viewer, source_order_id: str, channel_code: str = "") -> SalesOrder:
    """The latest revision of a source order (a staff caller may name the channel)."""
    qs = orders_visible_to(viewer).filter(source_order_id=source_order_id, is_current=True)
    if channel_code:
        qs = qs.filter(channel__code=channel_code)
    order = _with_details(qs.order_by("-id")).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def order_list(*, viewer) -> QuerySet[SalesOrder]:
    """The orders the viewer may see, with their lines and holds; the list's filters are
    `orders.filters.OrderFilter` (current revisions only unless it is asked for superseded ones)."""
    return _with_details(orders_visible_to(viewer))


def holds_stopping(*, order_id: int, step: str, line_id: int | None = None) -> list[OrderHold]:
    """The active holds that stop `step` (scheduling, shipping, billing) for the order or one of
    its lines: holds on the order, on that line, whose code stops all steps or this one."""
    from django.db.models import Q

    from .states import HoldScope

    qs = OrderHold.objects.select_related("hold_code").filter(
        order_id=order_id, released_at__isnull=True, hold_code__stops__in=[HoldScope.ALL, step]
    )
    qs = qs.filter(Q(line__isnull=True) | Q(line_id=line_id)) if line_id else qs.filter(line__isnull=True)
    return list(qs.order_by("id"))

"""Stage: the source order's current revision, locked; a revision that is not newer is refused."""

from __future__ import annotations

import functools

from django.db import connection

from oms.kernel.exceptions import StaleRevision, ValidationFailed

from ....inputs import OrderInput
from ....models import SalesOrder
from ..context import Capture


def check_revision(c: Capture) -> None:
    if not c.channel.active:
        raise ValidationFailed("The channel is not active.")
    if c.data.revision < 1:
        raise ValidationFailed("The revision must be 1 or more.", fields={"revision": ["Must be >= 1."]})
    c.current = current_revision_locked(c.channel.pk, c.data.source_order_id)
    if c.current is not None and c.data.revision <= c.current.revision:
        raise stale_revision(c.channel.pk, c.data, c.current)


@functools.cache
def _current_revision_sql(vendor: str) -> str:
    quote, meta = connection.ops.quote_name, SalesOrder._meta
    names = ("channel", "source_order_id", "is_current")
    column = {name: quote(meta.get_field(name).column) for name in names}
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE {column['channel']} = %s "  # noqa: S608
        f"AND {column['source_order_id']} = %s AND {column['is_current']} = %s{lock}"
    )


def current_revision_locked(channel_id: int, source_order_id: str) -> SalesOrder | None:
    """The current revision of the channel's order, locked, or None (the usual case: a new order).

    The lookup is SQL from the model's names: it runs on every capture and, as an ORM query
    over the order's thirty columns, it cost about a millisecond in compilation for a row that
    is nearly never there; the order is loaded only when it exists (a revision).
    """
    with connection.cursor() as cursor:
        cursor.execute(_current_revision_sql(connection.vendor), [channel_id, source_order_id, True])
        row = cursor.fetchone()
    return None if row is None else SalesOrder.objects.get(pk=row[0])


def stale_revision(channel_id: int, data: OrderInput, current: SalesOrder | None = None) -> StaleRevision:
    """409 `stale_revision` naming the order and its current revision."""
    if current is None:
        current = SalesOrder.objects.filter(
            channel_id=channel_id, source_order_id=data.source_order_id, is_current=True
        ).first()
    if current is None:  # the writer we collided with was rolled back after all
        return StaleRevision(
            "Another submission of this order was being saved at the same time; send it again."
        )
    return StaleRevision(
        f"Order {current.number} is at revision {current.revision}: revision {data.revision} is not newer.",
        fields={"revision": [f"Send a revision above {current.revision} (order {current.number})."]},
        number=current.number,
        current_revision=current.revision,
    )

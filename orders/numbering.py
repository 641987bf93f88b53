"""Order numbers: a database sequence with a readable prefix (no counter row to queue on)."""

from __future__ import annotations

from django.db import connection

from .models import ORDER_NUMBER_PREFIX, OrderNumber

SEQUENCE = "orders_order_number_seq"


def order_number_next() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{SEQUENCE}')")
            value = cursor.fetchone()[0]
    else:
        value = OrderNumber.objects.create().pk + 100000  # same range as the sequence
    return f"{ORDER_NUMBER_PREFIX}{value:06d}"

"""Helpers shared by the inventory services (not a public API)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from oms.kernel.exceptions import ValidationFailed

from ..errors import WarehouseInactive
from ..models import DocumentEvent, Warehouse


def positive_quantity(quantity, *, field: str = "quantity") -> Decimal:
    if isinstance(quantity, float):
        raise TypeError("Quantities are Decimal, never float.")
    try:
        qty = Decimal(quantity)
    except Exception as exc:  # decimal.InvalidOperation and friends: bad input, not a crash
        raise ValidationFailed(f"'{quantity}' is not a quantity.", fields={field: ["Not a number."]}) from exc
    if not qty.is_finite() or qty <= 0:
        raise ValidationFailed("A quantity must be positive.", fields={field: ["Must be > 0."]})
    return qty


def ensure_active_warehouses(warehouse_ids) -> None:
    """One query: refuse inactive (or unknown) warehouses before anything is written."""
    wanted = set(warehouse_ids)
    active = set(Warehouse.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True))
    missing = wanted - active
    if missing:
        raise WarehouseInactive(
            f"Warehouse(s) {sorted(missing)} are not active.", fields={"warehouse": ["Not active."]}
        )


def user_or_none(actor):
    return actor if getattr(actor, "pk", None) and not isinstance(actor.pk, str) else None


def audit(*, document_type: str, document_id: int, action: str, before: str, after: str, actor, note=""):
    return DocumentEvent.objects.create(
        document_type=document_type,
        document_id=document_id,
        action=action,
        before=before,
        after=after,
        note=note[:300],
        user=user_or_none(actor),
    )


def is_postgres() -> bool:
    return connection.vendor == "postgresql"

"""Reads for inventory."""

from __future__ import annotations

from collections.abc import Sequence

from .models import StockPosition


def positions_missing(*, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (product_id, warehouse_id) pairs that have no stock position yet, in input order."""
    if not pairs:
        return []
    existing = set(
        StockPosition.objects.filter(
            product_id__in={p for p, _ in pairs}, warehouse_id__in={w for _, w in pairs}
        ).values_list("product_id", "warehouse_id")
    )
    return [pair for pair in pairs if pair not in existing]

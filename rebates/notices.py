"""What order entry says about a line that a ship-and-debit authorization covers (registered with
the kernel's line-notice seam in RebatesConfig.ready: orders never imports rebates)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.db.models import Q

from oms.kernel.extensions import NoticeLine
from oms.kernel.money import round_money
from pricing.models import SegmentMembership

from .models import DebitMethod, ProgramType, ShipDebitAuthorization
from .states import ProgramStatus


def _unit_debit(method: str, value: Decimal, base_cost: Decimal | None) -> Decimal:
    if method == DebitMethod.AMOUNT_OFF:
        return value
    if method == DebitMethod.NEW_COST:
        return max(Decimal(0), (base_cost or Decimal(0)) - value)
    return (base_cost or Decimal(0)) * value / 100


def ship_debit_line_notices(
    *, customer_id: int, on: date, lines: Sequence[NoticeLine]
) -> dict[int, list[str]]:
    """{line index: ["Ship-and-debit SD-1 (supplier) will apply: ..."]} for the lines of eligible
    products, when the customer (or a group it belongs to) is eligible on `on` and quantity is
    left under the maximum. Three queries, whatever the lines."""
    product_ids = sorted({line.product_id for line in lines})
    segments = list(
        SegmentMembership.objects.filter(customer_id=customer_id).values_list("segment_id", flat=True)
    )
    rows = list(
        ShipDebitAuthorization.objects.filter(
            program__status=ProgramStatus.ACTIVE,
            program__program_type=ProgramType.SHIP_AND_DEBIT,
            program__start_date__lte=on,
            program__end_date__gte=on,
            valid_from__lte=on,
            valid_to__gte=on,
            products__in=product_ids,
        )
        .filter(Q(customers=customer_id) | Q(segments__in=segments))
        .distinct()
        .order_by("pk")
        .values_list(
            "pk",
            "number",
            "method",
            "value",
            "base_cost",
            "max_quantity",
            "consumed_quantity",
            "program__currency",
            "program__supplier__name",
        )
    )
    if not rows:
        return {}
    covered: dict[int, set[int]] = defaultdict(set)
    for auth_id, product_id in ShipDebitAuthorization.products.through.objects.filter(
        shipdebitauthorization_id__in=[r[0] for r in rows], product_id__in=product_ids
    ).values_list("shipdebitauthorization_id", "product_id"):
        covered[product_id].add(auth_id)
    out: dict[int, list[str]] = {}
    for line in lines:
        for pk, number, method, value, base_cost, max_qty, consumed, currency, supplier in rows:
            if pk not in covered.get(line.product_id, ()):
                continue
            left = None if max_qty is None else max_qty - consumed
            if left is not None and left <= 0:
                continue
            debit = round_money(_unit_debit(method, value, base_cost), currency)
            text = f"Ship-and-debit {number} ({supplier}) will apply: cost {debit} {currency} a unit lower"
            if left is not None:
                text += f", {left.normalize():f} units left under its maximum"
                if line.quantity > left:
                    text += " (only those accrue)"
            out[line.index] = [f"{text}."]
            break
    return out

"""What the submission pipeline takes: plain frozen dataclasses, filled by the API serializers,
the staff UI and the file import alike (so all three go through the same checks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class AddressInput:
    line1: str = ""
    city: str = ""
    country: str = ""
    name: str = ""
    line2: str = ""
    region: str = ""
    postcode: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AddressInput | None:
        if not data:
            return None
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CustomerInput:
    """A B2B account by number, or a storefront consumer inline (matched by channel + email)."""

    account_number: str = ""
    email: str = ""
    name: str = ""


@dataclass(frozen=True)
class ManualAdjustmentInput:
    kind: str  # price_override | percent_off | amount_off | markup (pricing's vocabulary)
    value: Decimal
    reason_code: str


@dataclass(frozen=True)
class LineInput:
    source_line_id: str
    sku: str
    quantity: Decimal
    uom: str = ""
    ship_to: AddressInput | None = None
    requested_ship_date: date | None = None
    ship_method: str = ""
    unit_price: Decimal | None = None  # a trusted channel's own price ("source price")
    manual_adjustment: ManualAdjustmentInput | None = None  # staff only


@dataclass(frozen=True)
class OrderInput:
    source_order_id: str
    customer: CustomerInput
    lines: tuple[LineInput, ...]
    revision: int = 1
    currency: str = ""
    customer_po: str = ""
    bill_to: AddressInput | None = None
    ship_to: AddressInput | None = None
    requested_delivery_date: date | None = None
    ship_method: str = ""
    priority: int | None = None
    demand_class: str = ""
    notes: str = ""
    coupons: tuple[str, ...] = ()
    # Where a web order came from, for the landing-page and campaign reports.
    source_page: str = ""
    campaign: str = ""

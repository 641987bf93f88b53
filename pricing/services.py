"""Pricing services: price an order (read-only), redeem and release coupons, stored quotes.

`price_quote` is what every caller uses (the API, the staff UI, order capture): a `PriceRequest`
in, a `PriceResult` out; it never writes. Coupons are only validated there; capture redeems them
with `coupon_redeem` in its own transaction.
"""

from __future__ import annotations

import dataclasses

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import validate_currency

from .engine import PriceRequest, PriceResult, price
from .models import Coupon, CouponRedemption, PriceQuote, QuoteStatus
from .snapshot import ruleset_version_bump, snapshot_load

MAX_LINES = 1000

__all__ = [
    "MAX_LINES",
    "coupon_redeem",
    "coupon_redemption_release",
    "price_quote",
    "price_quote_create",
    "price_quote_run",
    "ruleset_version_bump",
]


def price_request_validate(request: PriceRequest) -> PriceRequest:
    """Normalise and check what the engine assumes: a known currency, 1..1000 lines, quantities > 0."""
    fields: dict[str, list[str]] = {}
    try:
        currency = validate_currency(request.currency)
    except ValidationFailed as exc:
        fields.update(exc.fields)
        currency = request.currency
    if not request.lines:
        fields["lines"] = ["At least one line."]
    elif len(request.lines) > MAX_LINES:
        fields["lines"] = [f"At most {MAX_LINES} lines."]
    for i, line in enumerate(request.lines[: MAX_LINES + 1]):
        if isinstance(line.quantity, float):
            raise TypeError("Quantities are Decimal, never float.")
        if line.quantity <= 0:
            fields[f"lines[{i}].quantity"] = ["Must be above zero."]
    if fields:
        raise ValidationFailed("The pricing request is not valid.", fields=fields)
    return dataclasses.replace(request, currency=currency)


def price_quote(request: PriceRequest, *, explain: bool = False, customer=None) -> PriceResult:
    """Price an order: load the snapshot (fixed number of queries), run the engine. Writes nothing.

    `customer`: (the Customer of `request.customer_account`, all its active CustomerSites) when the
    caller has read them already; pricing then does not read them again."""
    request = price_request_validate(request)
    snapshot = snapshot_load(request, customer=customer)
    return price(request, snapshot, explain=explain)


# --- coupons ----------------------------------------------------------------------------------


@transaction.atomic
def coupon_redeem(*, code: str, order_ref: str, customer_id: int | None = None) -> CouponRedemption:
    """Use a coupon once for an order; holds its limits under concurrent orders.

    One conditional UPDATE takes a use (`times_used < max_uses`) and locks the coupon row, so the
    per-customer count that follows is checked under that lock; a refusal rolls the use back.
    Redeeming again for the same order returns the existing redemption (idempotent).
    """
    code = (code or "").strip().upper()
    coupon = Coupon.objects.filter(code=code).values("id", "active", "max_uses_per_customer").first()
    if coupon is None:
        raise NotFound(f"No coupon '{code}'.", fields={"coupon_code": ["Unknown coupon code."]})
    existing = CouponRedemption.objects.filter(coupon_id=coupon["id"], order_ref=order_ref).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    usable = (
        Coupon.objects.filter(pk=coupon["id"], active=True)
        .exclude(valid_from__gt=today)
        .exclude(valid_to__lt=today)
    )
    taken = usable.filter(max_uses__isnull=True).update(times_used=F("times_used") + 1) or usable.filter(
        max_uses__isnull=False, times_used__lt=F("max_uses")
    ).update(times_used=F("times_used") + 1)
    if not taken:
        raise Conflict(
            f"Coupon '{code}' is used up or not valid today.", fields={"coupon_code": ["Not usable."]}
        )
    limit = coupon["max_uses_per_customer"]
    if limit is not None and customer_id is not None:
        used = CouponRedemption.objects.filter(coupon_id=coupon["id"], customer_id=customer_id).count()
        if used >= limit:
            raise Conflict(
                f"This customer has used coupon '{code}' {used} of {limit} times.",
                fields={"coupon_code": ["Used up for this customer."]},
            )
    try:
        with transaction.atomic():
            return CouponRedemption.objects.create(
                coupon_id=coupon["id"], customer_id=customer_id, order_ref=order_ref
            )
    except IntegrityError as exc:  # the same order redeemed concurrently
        raise Conflict("This order has already redeemed the coupon.") from exc


@transaction.atomic
def coupon_redemption_release(*, code: str, order_ref: str) -> bool:
    """Give a use back (the order was cancelled before it counted). False if there was none."""
    code = (code or "").strip().upper()
    deleted, _ = CouponRedemption.objects.filter(coupon__code=code, order_ref=order_ref).delete()
    if deleted:
        Coupon.objects.filter(code=code, times_used__gt=0).update(times_used=F("times_used") - 1)
    return bool(deleted)


# --- stored quotes ----------------------------------------------------------------------------


def price_quote_create(*, request: PriceRequest, explain: bool = False) -> PriceQuote:
    return PriceQuote.objects.create(request=request.to_dict(), explain=explain)


def price_quote_run(*, quote_id: int) -> PriceQuote:
    """Price a stored request with the current rules and store the breakdown (or the error)."""
    quote = PriceQuote.objects.filter(pk=quote_id).first()
    if quote is None:
        raise NotFound("No such quote.")
    request = PriceRequest.from_dict(quote.request)
    try:
        result = price_quote(request, explain=quote.explain)
    except ValidationFailed as exc:
        quote.status, quote.error, quote.result = (
            QuoteStatus.FAILED,
            {"message": exc.message, "fields": exc.fields},
            None,
        )
    else:
        quote.status, quote.result, quote.error = QuoteStatus.PRICED, result.to_dict(), None
        quote.ruleset_version = result.ruleset_version
    quote.priced_at = timezone.now()
    quote.save(update_fields=["status", "result", "error", "ruleset_version", "priced_at"])
    return quote

"""Payments: authorization and capture through a gateway, refunds, voids, offline receipts,
allocation to invoices, payment holds, webhooks and reconciliation (docs/payments.md).

A provider call is never made with an answer we could lose silently: the operation row (with its
idempotency key) is written first, the provider is called with that key, and the answer settles
the row. A timeout or a lost reply leaves the row UNKNOWN; the reconciliation task repeats the
same request with the same key (the provider answers with what it did the first time) and
settles it, so a capture happens exactly once however often it is asked for."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from customers.models import Customer
from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import validate_currency
from orders.actors import Actor
from orders.models import HoldCode, OrderHold, SalesOrder
from orders.services.holds import hold_apply, hold_release
from orders.states import HoldScope

from ..gateways import (
    GatewayDeclined,
    GatewayError,
    GatewayUnavailable,
    WebhookSignatureInvalid,
    gateway_for,
    gateway_for_provider,
)
from ..models import Invoice, Payment, PaymentAllocation, PaymentOperation, StoreCreditEntry, WebhookEvent
from ..states import (
    GATEWAY_METHODS,
    InvoiceStatus,
    OperationKind,
    OperationStatus,
    PaymentMethod,
    PaymentStatus,
    ensure_payment_transition,
)
from .common import audit, money_in
from .invoices import invoice_settle

logger = logging.getLogger("oms.billing.payments")

PAYMENT_HOLD = "payment"
LIVE = (
    PaymentStatus.PENDING,
    PaymentStatus.AUTHORIZED,
    PaymentStatus.CAPTURED,
    PaymentStatus.PARTIALLY_REFUNDED,
)


def payment_hold_code() -> HoldCode:
    """The system's payment hold: stops shipping steps until a new authorization releases it."""
    code, _ = HoldCode.objects.get_or_create(
        code=PAYMENT_HOLD,
        defaults={
            "name": "Payment hold",
            "is_system": True,
            "stops": HoldScope.SHIPPING,
            "apply_roles": ["finance"],
            "release_roles": ["finance"],
        },
    )
    return code


def _new_number() -> str:
    return f"PAY-{secrets.token_hex(5).upper()}"


def _lock(payment_id: int) -> Payment:
    payment = Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def _set_status(payment: Payment, target: str, *, actor: str, kind: str, reason: str = "", **extra) -> None:
    before = payment.status
    ensure_payment_transition(before, target)
    payment.status = target
    payment.save()
    audit(
        "payment",
        payment.pk,
        kind,
        actor=actor,
        before={"status": before},
        after={
            "status": target,
            "authorized": str(payment.authorized_amount),
            "captured": str(payment.captured_amount),
            "refunded": str(payment.refunded_amount),
            **{k: str(v) for k, v in extra.items()},
        },
        reason=reason,
    )


# --- holds --------------------------------------------------------------------------------------


def _hold_apply(order_id: int | None, reason: str) -> None:
    if order_id is None:
        return
    payment_hold_code()
    if OrderHold.objects.filter(
        order_id=order_id, hold_code__code=PAYMENT_HOLD, released_at__isnull=True, line__isnull=True
    ).exists():
        return
    # Already held, or the order was superseded: nothing more to stop.
    with contextlib.suppress(Conflict, NotFound):
        hold_apply(order_id=order_id, actor=Actor.system(), code=PAYMENT_HOLD, reason=reason)


def _holds_release(order_id: int | None, reason: str) -> None:
    if order_id is None:
        return
    for hold_id in OrderHold.objects.filter(
        order_id=order_id, hold_code__code=PAYMENT_HOLD, released_at__isnull=True
    ).values_list("pk", flat=True):
        hold_release(hold_id=hold_id, actor=Actor.system(), reason=reason)


def order_payment_held(order_id: int) -> bool:
    return OrderHold.objects.filter(
        order_id=order_id, hold_code__code=PAYMENT_HOLD, released_at__isnull=True
    ).exists()


# --- operations ---------------------------------------------------------------------------------


def _op_begin(
    payment: Payment, kind: str, amount: Decimal, key: str, reference: str = ""
) -> PaymentOperation:
    try:
        with transaction.atomic():
            return PaymentOperation.objects.create(
                payment=payment, kind=kind, amount=amount, key=key, reference=reference
            )
    except IntegrityError:
        return PaymentOperation.objects.get(key=key)


def _gateway(payment: Payment):
    gateway = gateway_for(payment.channel_code, payment.method)
    if gateway is None:
        raise ValidationFailed(
            f"{payment.get_method_display()} is not configured for channel '{payment.channel_code}'.",
            fields={"method": ["No provider keys for this channel."]},
        )
    return gateway


def _call(op: PaymentOperation, payment: Payment) -> object | None:
    """Send the operation to the provider; None when no answer came (the row stays UNKNOWN)."""
    gateway = _gateway(payment)
    try:
        if op.kind == OperationKind.AUTHORIZE:
            return gateway.authorize(
                amount=op.amount,
                currency=payment.currency,
                token=payment.provider_token,
                key=op.key,
                reference=payment.order_number or payment.number,
            )
        if op.kind == OperationKind.CAPTURE:
            final = op.reference.endswith(":final")
            return gateway.capture(
                provider_ref=payment.provider_ref,
                amount=op.amount,
                currency=payment.currency,
                key=op.key,
                final=final,
            )
        if op.kind == OperationKind.VOID:
            return gateway.void(provider_ref=payment.provider_ref, key=op.key)
        capture_ref = (
            payment.operations.filter(kind=OperationKind.CAPTURE, status=OperationStatus.SUCCEEDED)
            .exclude(provider_ref="")
            .values_list("provider_ref", flat=True)
            .last()
            or ""
        )
        return gateway.refund(
            provider_ref=payment.provider_ref,
            capture_ref=capture_ref,
            amount=op.amount,
            currency=payment.currency,
            key=op.key,
        )
    except GatewayUnavailable as exc:
        logger.warning("payment %s: %s %s got no answer: %s", payment.number, op.kind, op.key, exc)
        PaymentOperation.objects.filter(pk=op.pk).update(error=str(exc)[:200])
        return None


def _op_fail(op_id: int, error: str) -> PaymentOperation:
    op = PaymentOperation.objects.select_for_update(of=("self",)).get(pk=op_id)
    if op.status == OperationStatus.UNKNOWN:
        op.status = OperationStatus.FAILED
        op.error = error[:200]
        op.settled_at = timezone.now()
        op.save()
    return op


def _settle(op_id: int, result, *, actor: str = "system") -> PaymentOperation:
    """Apply a provider's success answer to the operation, exactly once (row locks: payment, then
    operation, then invoice)."""
    op0 = PaymentOperation.objects.get(pk=op_id)
    payment = _lock(op0.payment_id)
    op = PaymentOperation.objects.select_for_update(of=("self",)).get(pk=op_id)
    if op.status != OperationStatus.UNKNOWN:
        return op
    op.status = OperationStatus.SUCCEEDED
    op.settled_at = timezone.now()
    op.provider_ref = getattr(result, "operation_ref", "") or ""
    op.save()
    if op.kind == OperationKind.AUTHORIZE:
        payment.provider_ref = result.provider_ref
        payment.authorized_amount = op.amount
        payment.authorized_at = timezone.now()
        payment.expires_at = timezone.now() + timedelta(days=settings.OMS_PAYMENT_AUTH_VALID_DAYS)
        _set_status(
            payment,
            PaymentStatus.AUTHORIZED,
            actor=actor,
            kind="authorized",
            provider_ref=result.provider_ref,
        )
        _holds_release(payment.order_id, f"payment {payment.number} authorized")
    elif op.kind == OperationKind.CAPTURE:
        payment.captured_amount += op.amount
        _set_status(payment, PaymentStatus.CAPTURED, actor=actor, kind="captured", amount=op.amount)
        invoice_id = _reference_invoice(op.reference)
        if invoice_id is not None:
            _allocate(payment, invoice_id, op.amount, actor=actor)
    elif op.kind == OperationKind.VOID:
        _set_status(payment, PaymentStatus.VOIDED, actor=actor, kind="voided")
    elif op.kind == OperationKind.REFUND:
        payment.refunded_amount += op.amount
        target = (
            PaymentStatus.REFUNDED
            if payment.refunded_amount == payment.captured_amount
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        _set_status(payment, target, actor=actor, kind="refunded", amount=op.amount)
    return op


def _reference_invoice(reference: str) -> int | None:
    for part in reference.split(":")[::-1]:
        if part.startswith("inv"):
            return int(part.removeprefix("inv"))
    return None


def _run(op: PaymentOperation, payment: Payment, *, actor: str = "system") -> PaymentOperation:
    """Send an UNKNOWN operation and settle it with the answer; declines settle as failures."""
    try:
        result = _call(op, payment)
    except GatewayDeclined as exc:
        with transaction.atomic():
            op = _op_fail(op.pk, exc.reason)
            if op.kind == OperationKind.AUTHORIZE:
                p = _lock(payment.pk)
                if p.status == PaymentStatus.PENDING:
                    p.failure_reason = exc.reason[:200]
                    p.provider_ref = exc.provider_ref or p.provider_ref
                    _set_status(p, PaymentStatus.FAILED, actor=actor, kind="declined", reason=exc.reason)
                    _hold_apply(p.order_id, f"payment {p.number} declined: {exc.reason}")
        return op
    except GatewayError as exc:
        with transaction.atomic():
            return _op_fail(op.pk, str(exc))
    if result is None:
        op.refresh_from_db()
        return op
    with transaction.atomic():
        return _settle(op.pk, result, actor=actor)


# --- authorization ------------------------------------------------------------------------------


def payment_authorize(
    *, order_id: int, method: str, token: str, key: str, amount=None, actor: str = "system"
) -> Payment:
    """Authorize a card or PayPal payment for an order (at capture; again after a decline or an
    expiry). The storefront sends a provider token, never card data."""
    if method not in GATEWAY_METHODS:
        raise ValidationFailed("Only card and PayPal payments are authorized.", fields={"method": [method]})
    if not token:
        raise ValidationFailed("A provider token is required.", fields={"token": ["Required."]})
    existing = PaymentOperation.objects.filter(key=key).select_related("payment").first()
    if existing is not None:
        if existing.status == OperationStatus.UNKNOWN:
            _run(existing, existing.payment, actor=actor)
        return Payment.objects.get(pk=existing.payment_id)
    order = SalesOrder.objects.select_related("channel").filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    if amount is None:
        covered = Payment.objects.filter(order_id=order.pk, status__in=LIVE).exclude(
            method=PaymentMethod.STORE_CREDIT
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        amount = order.total - covered
    amount = money_in(amount, order.currency)
    with transaction.atomic():
        payment = Payment(
            number=_new_number(),
            order=order,
            order_number=order.number,
            customer_id=order.customer_id,
            channel_code=order.channel.code,
            method=method,
            currency=order.currency,
            amount=amount,
            provider_token=token,
        )
        gateway = _gateway(payment)
        payment.provider = gateway.provider
        payment.save()
        audit(
            "payment", payment.pk, "created", actor=actor, after={"status": "pending", "amount": str(amount)}
        )
        op = _op_begin(payment, OperationKind.AUTHORIZE, amount, key)
    _run(op, payment, actor=actor)
    payment.refresh_from_db()
    return payment


# --- capture ------------------------------------------------------------------------------------


def payment_capture(
    *,
    payment_id: int,
    amount,
    key: str,
    invoice_id: int | None = None,
    final: bool = False,
    actor: str = "system",
) -> PaymentOperation:
    """Capture part of an authorization (one shipment's invoice), allocating it to the invoice.
    Repeating the call with the same key never captures twice."""
    existing = PaymentOperation.objects.filter(key=key).first()
    if existing is not None:
        if existing.status == OperationStatus.UNKNOWN:
            return _run(existing, Payment.objects.get(pk=existing.payment_id), actor=actor)
        return existing
    with transaction.atomic():
        payment = _lock(payment_id)
        amount = money_in(amount, payment.currency)
        if payment.method not in GATEWAY_METHODS:
            raise ValidationFailed(
                "Only card and PayPal payments are captured.", fields={"method": [payment.method]}
            )
        if payment.status not in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
            raise Conflict(f"A {payment.status} payment cannot be captured.")
        if payment.expires_at and payment.expires_at <= timezone.now():
            raise Conflict("The authorization has expired; re-authorize.")
        in_flight = payment.operations.filter(
            kind=OperationKind.CAPTURE, status=OperationStatus.UNKNOWN
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        if amount > payment.capturable - in_flight:
            raise ValidationFailed(
                "The capture is above the authorization.",
                fields={
                    "amount": [
                        f"At most {payment.capturable - in_flight} {payment.currency} can be captured."
                    ]
                },
            )
        reference = (f"inv{invoice_id}" if invoice_id else "") + (":final" if final else "")
        op = _op_begin(payment, OperationKind.CAPTURE, amount, key, reference)
    return _run(op, payment, actor=actor)


def payment_void(*, payment_id: int, key: str, actor: str = "system", reason: str = "") -> Payment:
    with transaction.atomic():
        payment = _lock(payment_id)
        ensure_payment_transition(payment.status, PaymentStatus.VOIDED)
        if payment.method not in GATEWAY_METHODS or payment.status == PaymentStatus.PENDING:
            _set_status(payment, PaymentStatus.VOIDED, actor=actor, kind="voided", reason=reason)
            return payment
        op = _op_begin(payment, OperationKind.VOID, Decimal(0), key)
    _run(op, payment, actor=actor)
    payment.refresh_from_db()
    return payment


# --- refunds ------------------------------------------------------------------------------------


def payment_refund(
    *,
    payment_id: int,
    amount,
    key: str,
    reason: str,
    actor: str = "system",
    invoice_id: int | None = None,
) -> PaymentOperation:
    """Give back captured money. Money allocated to an invoice comes back only through a credit
    memo (which passes `invoice_id` and has already credited the invoice); a bare refund may take
    only what is captured and not allocated."""
    existing = PaymentOperation.objects.filter(key=key).first()
    if existing is not None:
        if existing.status == OperationStatus.UNKNOWN:
            return _run(existing, Payment.objects.get(pk=existing.payment_id), actor=actor)
        return existing
    if not reason.strip():
        raise ValidationFailed("A refund needs a reason.", fields={"reason": ["Required."]})
    with transaction.atomic():
        payment = _lock(payment_id)
        amount = money_in(amount, payment.currency)
        in_flight = payment.operations.filter(
            kind=OperationKind.REFUND, status=OperationStatus.UNKNOWN
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        if amount > payment.refundable - in_flight:
            raise ValidationFailed(
                "The refund is above what was captured.",
                fields={
                    "amount": [
                        f"At most {payment.refundable - in_flight} {payment.currency} can be refunded."
                    ]
                },
            )
        if invoice_id is not None:
            _allocate(payment, invoice_id, -amount, actor=actor, credited=True)
        elif amount > payment.unallocated - payment.refunded_amount - in_flight:
            raise ValidationFailed(
                "That money pays an invoice: refund it with a credit memo.",
                fields={
                    "amount": [f"At most {payment.unallocated - payment.refunded_amount} is unallocated."]
                },
            )
        audit(
            "payment",
            payment.pk,
            "refund_requested",
            actor=actor,
            after={"amount": str(amount)},
            reason=reason,
        )
        op = _op_begin(payment, OperationKind.REFUND, amount, key, f"inv{invoice_id}" if invoice_id else "")
        if payment.method not in GATEWAY_METHODS:
            # Paid back by finance outside the OMS (bank transfer, cash): booked as done.
            return _settle(op.pk, None, actor=actor)
    return _run(op, payment, actor=actor)


# --- allocation ---------------------------------------------------------------------------------


def _allocate(
    payment: Payment, invoice_id: int, amount: Decimal, *, actor: str, credited: bool = False
) -> None:
    """Apply (or, negative, take back) part of a locked payment to an invoice. With `credited`,
    the invoice's credit memo has already moved the amount from paid to credited."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice_id)
    if invoice.currency != payment.currency:
        raise ValidationFailed(
            "The payment and the invoice are in different currencies.",
            fields={
                "invoice": [f"{invoice.number} is in {invoice.currency}, the payment in {payment.currency}."]
            },
        )
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        raise Conflict(f"A {invoice.status} invoice takes no payments.")
    if amount > 0:
        if amount > payment.unallocated:
            raise ValidationFailed(
                "More than the payment has unallocated.",
                fields={"amount": [f"At most {payment.unallocated}."]},
            )
        if amount > invoice.open_amount:
            raise ValidationFailed(
                "More than the invoice's open amount.",
                fields={"amount": [f"{invoice.number}: {invoice.open_amount} open."]},
            )
    else:
        already = payment.allocations.filter(invoice_id=invoice.pk).aggregate(s=Sum("amount"))[
            "s"
        ] or Decimal(0)
        if -amount > already:
            raise ValidationFailed(
                "More than this payment paid on the invoice.", fields={"amount": [f"At most {already}."]}
            )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=amount)
    payment.allocated_amount += amount
    payment.save(update_fields=["allocated_amount", "updated_at"])
    if not credited:
        invoice_settle(invoice, paid_delta=amount, actor=actor)
    audit(
        "payment",
        payment.pk,
        "allocated" if amount > 0 else "deallocated",
        actor=actor,
        after={"invoice": invoice.number, "amount": str(amount)},
    )


@transaction.atomic
def payment_allocate(*, payment_id: int, invoice_id: int, amount, actor: str = "system") -> Payment:
    payment = _lock(payment_id)
    if payment.status not in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
        raise Conflict(f"A {payment.status} payment has nothing to allocate.")
    _allocate(payment, invoice_id, money_in(amount, payment.currency), actor=actor)
    return payment


def _allocate_to_open(payment: Payment, invoice_ids: Sequence[int], actor: str) -> None:
    """Spread a payment over open invoices, oldest due first."""
    left = payment.unallocated
    for inv in Invoice.objects.filter(pk__in=invoice_ids, status=InvoiceStatus.ISSUED).order_by(
        "due_date", "pk"
    ):
        if left <= 0:
            break
        part = min(left, inv.open_amount)
        if part > 0:
            _allocate(payment, inv.pk, part, actor=actor)
            left -= part


# --- offline payments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    amount: Decimal


OFFLINE_METHODS = (
    PaymentMethod.BANK_TRANSFER,
    PaymentMethod.CASH_ON_DELIVERY,
    PaymentMethod.CHECK,
    PaymentMethod.STORE_CREDIT,
)


@transaction.atomic
def payment_record_offline(
    *,
    customer_id: int,
    method: str,
    amount,
    currency: str,
    actor: str = "system",
    order_id: int | None = None,
    allocations: Sequence[Allocation] | None = None,
    reference: str = "",
    check_number: str = "",
    deposit_date=None,
    source_key: str | None = None,
) -> Payment:
    """Money received outside a gateway: a bank transfer, cash on delivery, a check (with its
    deposit date), or store credit drawn. Allocated as given, or to the order's open invoices."""
    if source_key:
        found = Payment.objects.filter(source_key=source_key).first()
        if found is not None:
            return found
    if method not in OFFLINE_METHODS:
        raise ValidationFailed("Not an offline method.", fields={"method": [method]})
    if method == PaymentMethod.CHECK and (not check_number or deposit_date is None):
        raise ValidationFailed(
            "A check needs its number and deposit date.",
            fields={"check_number": ["Required."], "deposit_date": ["Required."]},
        )
    currency = validate_currency(currency)
    if not Customer.objects.filter(pk=customer_id).exists():
        raise ValidationFailed("No such customer.", fields={"customer": [str(customer_id)]})
    amount = money_in(amount, currency)
    order = SalesOrder.objects.filter(pk=order_id).first() if order_id else None
    if order is not None and order.currency != currency:
        raise ValidationFailed(
            "Not the order's currency.", fields={"currency": [f"The order is in {order.currency}."]}
        )
    if method == PaymentMethod.STORE_CREDIT:
        balance = StoreCreditEntry.objects.filter(customer_id=customer_id, currency=currency).aggregate(
            s=Sum("amount")
        )["s"] or Decimal(0)
        if amount > balance:
            raise ValidationFailed(
                "Not enough store credit.", fields={"amount": [f"Balance {balance} {currency}."]}
            )
    payment = Payment.objects.create(
        number=_new_number(),
        order=order,
        order_number=order.number if order else "",
        customer_id=customer_id,
        channel_code="",
        method=method,
        currency=currency,
        amount=amount,
        authorized_amount=amount,
        captured_amount=amount,
        status=PaymentStatus.CAPTURED,
        reference=reference,
        check_number=check_number,
        deposit_date=deposit_date,
        source_key=source_key,
    )
    PaymentOperation.objects.create(
        payment=payment,
        kind=OperationKind.CAPTURE,
        status=OperationStatus.SUCCEEDED,
        amount=amount,
        key=f"offline:{payment.number}",
        reference=reference,
        settled_at=timezone.now(),
    )
    if method == PaymentMethod.STORE_CREDIT:
        StoreCreditEntry.objects.create(
            customer_id=customer_id, currency=currency, amount=-amount, reference=f"payment:{payment.number}"
        )
    audit(
        "payment",
        payment.pk,
        "received",
        actor=actor,
        before={"status": "pending"},
        after={"status": "captured", "method": method, "amount": str(amount), "reference": reference},
    )
    if allocations:
        for a in allocations:
            _allocate(payment, a.invoice_id, money_in(a.amount, currency), actor=actor)
    elif order is not None:
        _allocate_to_open(
            payment, list(Invoice.objects.filter(order_id=order.pk).values_list("pk", flat=True)), actor
        )
    return payment


def cod_delivery_confirmed(
    *, order_number: str, shipment: str, amount=None, actor: str = "carrier"
) -> Payment | None:
    """The carrier confirmed delivery of a cash-on-delivery order: the cash collected pays the
    order's open invoices (once per shipment). Orders without a COD payment are not ours."""
    expected = (
        Payment.objects.filter(
            order_number=order_number, method=PaymentMethod.CASH_ON_DELIVERY, status=PaymentStatus.PENDING
        )
        .order_by("pk")
        .first()
    )
    if expected is None:
        return None
    open_invoices = Invoice.objects.filter(order_id=expected.order_id, status=InvoiceStatus.ISSUED)
    due = sum((i.open_amount for i in open_invoices), Decimal(0))
    collected = due if amount is None else amount
    if not collected:
        return None
    return payment_record_offline(
        customer_id=expected.customer_id,
        method=PaymentMethod.CASH_ON_DELIVERY,
        amount=collected,
        currency=expected.currency,
        order_id=expected.order_id,
        reference=f"delivery {shipment}",
        source_key=f"cod:{shipment}",
        actor=actor,
    )


@transaction.atomic
def payment_expect_cod(*, order_id: int, actor: str = "system") -> Payment:
    """Mark an order as cash on delivery: a pending payment the delivery confirmation fulfils."""
    order = SalesOrder.objects.select_related("channel").get(pk=order_id)
    payment = Payment.objects.create(
        number=_new_number(),
        order=order,
        order_number=order.number,
        customer_id=order.customer_id,
        channel_code=order.channel.code,
        method=PaymentMethod.CASH_ON_DELIVERY,
        currency=order.currency,
        amount=order.total,
    )
    audit("payment", payment.pk, "created", actor=actor, after={"status": "pending", "method": "cod"})
    return payment


# --- expiry, reconciliation, webhooks -----------------------------------------------------------


def payments_expire(*, now=None) -> int:
    """Authorizations past their validity with nothing captured expire; the order goes on a
    payment hold until a new authorization releases it. Set-based: one query finds them."""
    now = now or timezone.now()
    ids = list(
        Payment.objects.filter(status=PaymentStatus.AUTHORIZED, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for pid in ids:
        with transaction.atomic():
            payment = _lock(pid)
            if payment.status != PaymentStatus.AUTHORIZED:
                continue
            _set_status(payment, PaymentStatus.EXPIRED, actor="system", kind="expired")
            _hold_apply(payment.order_id, f"authorization {payment.number} expired")
    return len(ids)


def payments_reconcile(*, older_than_seconds: float | None = None) -> int:
    """Ask the provider about every operation left without an answer: the same request with the
    same idempotency key returns what the provider did, and the row is settled once."""
    age = settings.OMS_PAYMENT_RECONCILE_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    ids = list(
        PaymentOperation.objects.filter(status=OperationStatus.UNKNOWN, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    settled = 0
    for op_id in ids:
        op = PaymentOperation.objects.select_related("payment").get(pk=op_id)
        PaymentOperation.objects.filter(pk=op_id).update(attempts=op.attempts + 1)
        after = _run(op, op.payment)
        settled += after.status != OperationStatus.UNKNOWN
    return settled


class WebhookRejected(Exception):
    pass


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str]) -> str:
    """A provider's webhook: verified, recorded once per event id, and used only to settle what
    is still UNKNOWN here. Events never move a payment backwards, so duplicates and events that
    arrive out of order change nothing."""
    gateway = gateway_for_provider(provider)
    if gateway is None:
        raise NotFound(f"No {provider} gateway is configured.")
    try:
        message = gateway.parse_webhook(body=body, headers=headers)
    except (WebhookSignatureInvalid, ValueError, KeyError) as exc:
        logger.warning("%s webhook rejected: bad signature (%s)", provider, exc)
        raise WebhookRejected(str(exc)) from exc
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    provider=provider,
                    event_id=message.event_id,
                    event_type=message.event_type,
                    provider_ref=message.provider_ref,
                    payload=dict(message.raw),
                )
        except IntegrityError:
            return "duplicate"
        payment = (
            Payment.objects.filter(provider=provider, provider_ref=message.provider_ref).first()
            if message.provider_ref
            else None
        )
        outcome = "no payment" if payment is None else _webhook_apply(payment, message)
        event.outcome = outcome
        event.save(update_fields=["outcome"])
    return outcome


_WEBHOOK_OPS = {
    "authorized": OperationKind.AUTHORIZE,
    "captured": OperationKind.CAPTURE,
    "voided": OperationKind.VOID,
    "refunded": OperationKind.REFUND,
}


def _webhook_apply(payment: Payment, message) -> str:
    kind = _WEBHOOK_OPS.get(message.event_type)
    if kind is None:
        return "ignored"
    pending = payment.operations.filter(kind=kind, status=OperationStatus.UNKNOWN).order_by("pk")
    if message.amount is not None and kind == OperationKind.CAPTURE and payment.provider == "stripe":
        # Stripe reports the intent's total received: settle only what that total covers.
        covered = message.amount - payment.captured_amount
        ops = []
        for op in pending:
            if op.amount <= covered:
                ops.append(op)
                covered -= op.amount
    elif message.amount is not None and kind in (OperationKind.CAPTURE, OperationKind.REFUND):
        ops = [op for op in pending if op.amount == message.amount][:1]
    else:
        ops = list(pending[:1])
    if not ops:
        return "nothing pending"

    class _Answer:
        provider_ref = payment.provider_ref
        operation_ref = ""

    for op in ops:
        _settle(op.pk, _Answer, actor=f"webhook:{payment.provider}")
    return f"settled {len(ops)}"


def payment_summary(*, order_id: int) -> dict[str, Decimal]:
    agg = (
        Payment.objects.filter(order_id=order_id)
        .filter(~Q(status=PaymentStatus.FAILED))
        .aggregate(
            authorized=Sum("authorized_amount"),
            captured=Sum("captured_amount"),
            refunded=Sum("refunded_amount"),
        )
    )
    return {k: v or Decimal(0) for k, v in agg.items()}


def hold_for_missing_authorization(*, order_id: int) -> None:
    """A capture found no live authorization (declined, expired, voided): hold the order's
    shipping until a new authorization releases it."""
    _hold_apply(order_id, "no live payment authorization")

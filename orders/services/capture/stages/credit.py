"""Stage: credit and approvals. Exposure plus this order over the limit (in the credit currency,
at the dated rate) puts a credit hold on the order; pricing's guardrails and the approval rules
(a total over a threshold, a new customer's first order) send it to approval."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from customers.models import Customer, CustomerKind, CustomerStatus, PaymentTerms
from customers.selectors import credit_position_of
from oms.kernel.exceptions import NotFound
from oms.kernel.money import convert
from partners.models import Channel
from pricing.engine import PriceResult
from pricing.selectors import exchange_rate_on

from ....models import CREDIT_HOLD, ApprovalRuleKind, SalesOrder
from ....reference import approval_rules
from ....states import OrderStatus, ensure_order_transition
from ..context import Capture, Plan


def check_credit_and_approvals(c: Capture) -> None:
    total = c.priced.totals.total
    credit_check(c.customer, total, c.currency, c.plan)
    c.plan.approval_reasons = approvals(
        channel=c.channel,
        customer=c.customer,
        customer_created=c.customer_created,
        total=total,
        currency=c.currency,
        priced=c.priced,
    )
    c.plan.status = OrderStatus.PENDING_APPROVAL if c.plan.approval_reasons else OrderStatus.OPEN
    ensure_order_transition(OrderStatus.DRAFT, c.plan.status)


def credit_check(customer: Customer, total: Decimal, currency: str, plan: Plan) -> None:
    """Exposure plus this order over the limit, in the credit currency (dated rate) -> credit hold."""
    position = credit_position_of(customer)
    today = timezone.localdate()
    plan.credit_currency = position.currency
    try:
        fx = exchange_rate_on(base=currency, quote=position.currency, on=today)
    except NotFound:
        plan.credit_amount = Decimal(0)
        plan.holds.append(
            (
                CREDIT_HOLD,
                f"No exchange rate from {currency} to {position.currency} on {today}: "
                "credit cannot be checked.",
                {"order_total": str(total), "order_currency": currency, "credit_currency": position.currency},
            )
        )
        return
    converted = convert(total, fx.rate, position.currency)
    plan.credit_amount = converted
    if customer.kind != CustomerKind.B2B or customer.payment_terms == PaymentTerms.PREPAID:
        return  # prepaid business is not extended credit
    details = {
        "order_total": str(total),
        "order_currency": currency,
        "rate": str(fx.rate),
        "rate_date": fx.valid_on.isoformat(),
        "order_total_converted": str(converted),
        "credit_currency": position.currency,
        "exposure": str(position.exposure),
        "credit_limit": str(position.credit_limit),
    }
    if customer.status == CustomerStatus.ON_HOLD:
        plan.holds.append((CREDIT_HOLD, "The customer account is on credit hold.", details))
    elif position.exposure + converted > position.credit_limit:
        plan.holds.append(
            (
                CREDIT_HOLD,
                f"Credit limit exceeded: exposure {position.exposure} {position.currency} + this order "
                f"{converted} {position.currency} ({total} {currency} at {fx.rate} on {fx.valid_on}) "
                f"> limit {position.credit_limit} {position.currency}.",
                details,
            )
        )


def approvals(
    *,
    channel: Channel,
    customer: Customer,
    customer_created: bool,
    total: Decimal,
    currency: str,
    priced: PriceResult,
) -> list[str]:
    reasons = list(priced.approval_reasons) if priced.needs_approval else []
    for rule in approval_rules():
        if rule.channel_id not in (None, channel.pk):
            continue
        if rule.kind == ApprovalRuleKind.TOTAL_OVER:
            try:
                fx = exchange_rate_on(base=currency, quote=rule.threshold_currency, on=timezone.localdate())
            except NotFound:
                reasons.append(f"{rule.name}: no exchange rate {currency}->{rule.threshold_currency}.")
                continue
            converted = convert(total, fx.rate, rule.threshold_currency)
            if converted > rule.threshold:
                reasons.append(
                    f"{rule.name}: total {converted} {rule.threshold_currency} over {rule.threshold}."
                )
        elif rule.kind == ApprovalRuleKind.NEW_CUSTOMER:
            is_new = customer_created or not SalesOrder.objects.filter(customer=customer).exists()
            if is_new:
                reasons.append(f"{rule.name}: first order of a new customer.")
    return reasons


# --- the pipeline --------------------------------------------------------------------------------

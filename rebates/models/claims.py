"""Claims (issue 18 item 4): what a program's accruals earned, asked of the supplier (or credited to
the customer), tracked to settlement. A claim's lines reference the accruals they claim; what an
accrual still has unclaimed is its amount less its lines on live (not canceled) claims.

A partial settlement settles the claim for what was paid and moves the rest into a child claim
(`parent`), whose lines carry the remainder of the same accruals; so "claimed" counts each amount
once, on whichever claim holds it now.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from oms.kernel.money import CurrencyField, MoneyField

from ..states import ClaimStatus, DisputeReason
from .accruals import Accrual
from .programs import PayoutMethod, RebateProgram

CLAIM_NUMBER_PREFIX = "CLM-"


class Claim(models.Model):
    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, related_name="claims")
    # The counterparty: the supplier a supplier rebate, ship-and-debit or price protection claim is
    # sent to, or the customer a customer volume rebate is paid to. Exactly one is set.
    supplier = models.ForeignKey(
        "catalog.Supplier", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    status = models.CharField(max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.OPEN)
    currency = CurrencyField()
    # What this claim asks for now (the sum of its lines); a partial settlement cuts it down to
    # what was paid (plus any write-off) and the child claim carries the rest.
    amount = MoneyField()
    original_amount = MoneyField()
    settled_amount = MoneyField()
    written_off_amount = MoneyField()
    # 1 claim currency = fx_rate functional: what its accruals were booked at, so settling the
    # claim clears their functional balance too.
    fx_rate = models.DecimalField(max_digits=20, decimal_places=10, default=1)
    dispute_reason = models.CharField(max_length=20, choices=DisputeReason.choices, blank=True, default="")
    dispute_note = models.TextField(blank=True, default="")
    reference = models.CharField(max_length=80, blank=True, default="")  # the supplier's own reference
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ClaimStatus.values), name="claim_status_valid"),
            models.CheckConstraint(
                condition=(Q(supplier__isnull=False) & Q(customer__isnull=True))
                | (Q(supplier__isnull=True) & Q(customer__isnull=False)),
                name="claim_one_counterparty",
            ),
            models.CheckConstraint(
                condition=Q(settled_amount__gte=0) & Q(written_off_amount__gte=0),
                name="claim_settled_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(settled_amount__lte=F("amount") - F("written_off_amount")),
                name="claim_settled_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "status"], name="claim_by_program_status"),
            models.Index(fields=["supplier", "status"], name="claim_by_supplier_status"),
            models.Index(fields=["customer", "status"], name="claim_by_customer_status"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"

    @property
    def number(self) -> str:
        return f"{CLAIM_NUMBER_PREFIX}{self.pk:06d}" if self.pk else f"{CLAIM_NUMBER_PREFIX}new"

    @property
    def open_amount(self) -> Decimal:
        return self.amount - self.settled_amount - self.written_off_amount

    @property
    def counterparty(self):
        return self.supplier or self.customer


class ClaimLine(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    accrual = models.ForeignKey(Accrual, on_delete=models.PROTECT, related_name="claim_lines")
    amount = MoneyField()

    class Meta:
        ordering = ["claim", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "accrual"], name="claim_line_once_per_accrual"),
        ]
        indexes = [models.Index(fields=["accrual"], name="claim_line_by_accrual")]

    def __str__(self) -> str:
        return f"claim {self.claim_id} accrual {self.accrual_id}: {self.amount}"


class ClaimSettlement(models.Model):
    """The money that closed a claim: how much, how it came (check, credit memo, deduction from a
    payable), what was written off, and the child claim that carries the rest."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="settlement")
    method = models.CharField(max_length=12, choices=PayoutMethod.choices, blank=True, default="")
    amount = MoneyField()
    written_off = MoneyField()
    currency = CurrencyField()
    reference = models.CharField(max_length=80, blank=True, default="")  # check number, memo number
    settled_on = models.DateField()
    child = models.OneToOneField(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="split_from"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=[*PayoutMethod.values, ""]), name="settlement_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(written_off__gte=0), name="settlement_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["settled_on"], name="settlement_by_day")]

    def __str__(self) -> str:
        return f"claim {self.claim_id} settled {self.amount} {self.currency} on {self.settled_on}"

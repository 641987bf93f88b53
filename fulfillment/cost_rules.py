"""Cost of change: the admin's rule set (what each kind of downstream undo costs) and the
policy (above which cost a change waits for approval, or is refused). Data only; the pricing of a
change is `fulfillment.services.change_cost`."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from inventory.models import Warehouse
from oms.kernel.money import CurrencyField, MoneyField
from partners.models import Channel

from .states import ChangeCostKind


class ChangeCostRule(models.Model):
    """One cost: a fixed amount, plus an amount per unit affected, plus a percentage of the net
    value affected, in the rule's currency (converted to the order's at the day's rate). A rule
    may be limited to one warehouse (the warehouse the undone work is at); several active rules
    of one kind all apply."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=30, choices=ChangeCostKind.choices)
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only for work at this warehouse (empty: every warehouse).",
    )
    fixed_amount = MoneyField(validators=[MinValueValidator(Decimal(0))])
    per_unit_amount = MoneyField(validators=[MinValueValidator(Decimal(0))])
    percent_of_value = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Percent of the net value of the quantity affected.",
    )
    currency = CurrencyField(default="USD")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ChangeCostKind.values), name="change_cost_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(fixed_amount__gte=0, per_unit_amount__gte=0, percent_of_value__gte=0)
                & Q(percent_of_value__lte=100),
                name="change_cost_rule_amounts_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        if not (self.fixed_amount or self.per_unit_amount or self.percent_of_value):
            raise ValidationError(
                "Give a fixed amount, an amount per unit or a percentage: a rule costs something."
            )


class ChangeCostPolicy(models.Model):
    """Above `approval_threshold` a revision waits in approval with its cost shown; above
    `refusal_threshold` (when set) it is refused. One policy per channel, and one default (no
    channel) for the others."""

    channel = models.OneToOneField(
        Channel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: default.",
    )
    approval_threshold = MoneyField(validators=[MinValueValidator(Decimal(0))])
    refusal_threshold = models.DecimalField(
        max_digits=20,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Refuse changes costing more than this (empty: never refuse).",
    )
    currency = CurrencyField(default="USD")

    class Meta:
        verbose_name_plural = "change cost policies"
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=Q(channel__isnull=True), name="change_cost_policy_one_default"
            ),
            models.CheckConstraint(
                condition=Q(refusal_threshold__isnull=True)
                | Q(refusal_threshold__gte=models.F("approval_threshold")),
                name="change_cost_policy_refusal_above_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel or 'default'}: approval over {self.approval_threshold} {self.currency}"

    def clean(self) -> None:
        if self.refusal_threshold is not None and self.refusal_threshold < self.approval_threshold:
            raise ValidationError(
                {"refusal_threshold": "The refusal limit must be at or above the approval threshold."}
            )

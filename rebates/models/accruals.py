"""Accruals: what a program earned (or owes) per qualifying source line, with its calculation
basis. Append-only: a return or cancellation writes a reversing accrual, a re-rating writes an
adjustment accrual; nothing is edited except the claim mark (`claimed_at`, `claim_number`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.models import Product, Supplier
from customers.models import Customer
from inventory.models import Warehouse
from oms.kernel.money import CurrencyField, MoneyField

from .programs import QUANTITY, RATE, RebateProgram


class AccrualKind(models.TextChoices):
    ACCRUAL = "accrual", "Accrual"
    REVERSAL = "reversal", "Reversal"
    ADJUSTMENT = "adjustment", "Re-rating adjustment"


class SourceType(models.TextChoices):
    """What earned the accrual. `source_id` is that row's primary key (as text), except for
    `period` (re-rating: "<period start>:<through accrual id>") and the price-drop sources
    ("<price drop id>:<warehouse id>" / "<price drop id>:<PO line id>")."""

    SHIPMENT_LINE = "shipment_line", "Shipment line"
    RECEIPT = "receipt", "Receipt (stock movement)"
    INVOICE_LINE = "invoice_line", "Invoice line"
    PRICE_DROP_STOCK = "price_drop_stock", "Price drop: stock on hand"
    PRICE_DROP_PO = "price_drop_po", "Price drop: open purchase order"
    PERIOD = "period", "Period re-rating"


class Accrual(models.Model):
    # Foreign keys covered by a composite index (or rarely followed backwards) carry no index of
    # their own: a 100,000-line run maintains every index of the table.
    program = models.ForeignKey(
        RebateProgram, on_delete=models.PROTECT, related_name="accruals", db_index=False
    )
    kind = models.CharField(max_length=12, choices=AccrualKind.choices, default=AccrualKind.ACCRUAL)
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source_id = models.CharField(max_length=64)
    # "" for the accrual itself; the return/cancellation reference for a reversal, so two partial
    # returns of one line are two reversals while a redelivered event is still one.
    event_key = models.CharField(max_length=80, blank=True, default="")
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals", db_index=False
    )  # indexed where set (Meta): most accruals reverse nothing
    # Whom it concerns (denormalised for claims and the checkbook: no join through the source).
    # Copies of references the source row holds and the database checks there (the program's
    # supplier, the order's customer, the line's product, the shipment's warehouse, all of them
    # protected by those rows): no second foreign-key check per accrual (a 100,000-line run
    # would run 400,000 of them at commit). Django's PROTECT still guards deletes.
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    authorization = models.ForeignKey(
        "rebates.ShipDebitAuthorization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accruals",
        db_index=False,
    )
    document = models.CharField(
        max_length=60, blank=True, default="", help_text="Shipment, PO, invoice or order number, for people."
    )
    source_date = models.DateField(help_text="When the source event happened: decides the period.")
    period_start = models.DateField()
    period_end = models.DateField()
    # The calculation basis, stored: what was measured, at which tier and rate, in which currency.
    quantity = models.DecimalField(**QUANTITY, default=0)
    value = MoneyField(help_text="Basis value in the program currency (after FX).")
    source_currency = CurrencyField(blank=True, default="")
    source_value = MoneyField(help_text="Basis value in the source document's currency.")
    fx_rate = models.DecimalField(
        max_digits=20, decimal_places=10, default=1, help_text="1 source = rate program"
    )
    tier = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-based tier index used.")
    rate = models.DecimalField(**RATE, default=0)
    basis = models.JSONField(
        default=dict, blank=True, help_text="Bands, cap, remainder: how it was computed."
    )
    amount = MoneyField(help_text="Signed, program currency: a reversal is negative.")
    currency = CurrencyField()
    functional_amount = MoneyField()
    functional_currency = CurrencyField()
    functional_fx_rate = models.DecimalField(max_digits=20, decimal_places=10, default=1)
    journal_entry = models.ForeignKey(
        "rebates.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accruals",
        db_index=False,
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_number = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "source_type", "source_id", "kind", "event_key"],
                name="accrual_once_per_program_source",
            ),
            models.CheckConstraint(condition=Q(kind__in=AccrualKind.values), name="accrual_kind_valid"),
            models.CheckConstraint(
                condition=Q(source_type__in=SourceType.values), name="accrual_source_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=AccrualKind.REVERSAL) | Q(reverses__isnull=False),
                name="accrual_reversal_names_original",
            ),
            models.CheckConstraint(
                condition=Q(claimed_at__isnull=True) | ~Q(claim_number=""), name="accrual_claim_mark_complete"
            ),
        ]
        indexes = [
            models.Index(fields=["program", "period_start"], name="accrual_program_period"),
            models.Index(fields=["reverses"], condition=Q(reverses__isnull=False), name="accrual_reverses"),
            models.Index(fields=["program", "claimed_at"], name="accrual_program_claimed"),
            models.Index(fields=["supplier", "claimed_at"], name="accrual_supplier_claimed"),
            models.Index(fields=["customer", "claimed_at"], name="accrual_customer_claimed"),
            models.Index(
                fields=["claim_number"], condition=Q(claimed_at__isnull=False), name="accrual_claim_number"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.program_id} {self.source_type}:{self.source_id} {self.amount} {self.currency}"
        )

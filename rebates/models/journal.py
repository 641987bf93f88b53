"""The rebates subledger: balanced journal entries (debit = credit in the entry currency and in
the functional currency), account codes configurable per program type, exported as CSV for the
general ledger. Entries are written only by `rebates.services.journal.post_entry`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from oms.kernel.money import CurrencyField, MoneyField

from .programs import ProgramType, RebateProgram


class EntryKind(models.TextChoices):
    ACCRUAL = "accrual", "Accrual"
    REVERSAL = "reversal", "Reversal"
    ADJUSTMENT = "adjustment", "Re-rating adjustment"
    SETTLEMENT = "settlement", "Claim settlement"
    WRITE_OFF = "write_off", "Write-off"


class AccountRole(models.TextChoices):
    """What an account is for, per program type (codes: `AccountCode` rows, else the defaults in
    rebates.services.journal.DEFAULT_ACCOUNTS)."""

    ACCRUED = "accrued", "Accrued balance (receivable from supplier / liability to customer)"
    EARNED = "earned", "Earned (cost of goods reduction / sales rebate expense)"
    SETTLE_CHECK = "settle_check", "Settlement by check (cash)"
    SETTLE_CREDIT_MEMO = "settle_credit_memo", "Settlement by credit memo"
    SETTLE_DEDUCTION = "settle_deduction", "Settlement by deduction from a payable"
    WRITE_OFF = "write_off", "Write-off"


class AccountCode(models.Model):
    """Finance's override of a default account code for one program type and role."""

    program_type = models.CharField(max_length=20, choices=ProgramType.choices)
    role = models.CharField(max_length=20, choices=AccountRole.choices)
    account = models.CharField(max_length=40)
    description = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["program_type", "role"]
        constraints = [
            models.UniqueConstraint(fields=["program_type", "role"], name="accountcode_unique"),
            models.CheckConstraint(
                condition=Q(program_type__in=ProgramType.values), name="accountcode_type_valid"
            ),
            models.CheckConstraint(condition=Q(role__in=AccountRole.values), name="accountcode_role_valid"),
            models.CheckConstraint(condition=~Q(account=""), name="accountcode_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.program_type}/{self.role}: {self.account}"


class JournalEntry(models.Model):
    """One balanced entry. `(source_type, source_id)` is unique: an accrual, an adjustment or a
    settlement posts exactly once, however often its posting is retried."""

    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    source_type = models.CharField(
        max_length=30, help_text="accrual | claim_settlement | claim_write_off | ..."
    )
    source_id = models.CharField(max_length=64)
    program = models.ForeignKey(
        RebateProgram, on_delete=models.PROTECT, null=True, blank=True, related_name="journal_entries"
    )
    entry_date = models.DateField()
    currency = CurrencyField()
    functional_currency = CurrencyField()
    fx_rate = models.DecimalField(
        max_digits=20, decimal_places=10, default=1, help_text="1 currency = rate functional"
    )
    memo = models.CharField(max_length=300, blank=True, default="")
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id"], name="journalentry_once_per_source"),
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="journalentry_kind_valid"),
        ]
        indexes = [models.Index(fields=["entry_date"], name="journalentry_date")]

    def __str__(self) -> str:
        return f"JE{self.pk} {self.kind} {self.source_type}:{self.source_id}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, related_name="lines")
    account = models.CharField(max_length=40)
    debit = MoneyField()
    credit = MoneyField()
    functional_debit = MoneyField()
    functional_credit = MoneyField()
    memo = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["entry", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(debit__gte=0, credit__gte=0, functional_debit__gte=0, functional_credit__gte=0),
                name="journalline_nonnegative",
            ),
            models.CheckConstraint(condition=Q(debit=0) | Q(credit=0), name="journalline_one_side"),
        ]

    def __str__(self) -> str:
        return f"{self.account} Dr {self.debit} Cr {self.credit}"

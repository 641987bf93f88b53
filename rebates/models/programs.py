"""Rebate programs: their terms (tiers, eligibility, budget), ship-and-debit authorizations and
price-protection price drops. Workflows live in rebates/services; these are data and invariants."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Brand, Category, Product, Supplier
from customers.models import Customer
from inventory.models import Warehouse
from oms.kernel.money import CurrencyField, MoneyField
from pricing.models import PricingSegment

from ..states import ProgramStatus

QUANTITY = {"max_digits": 20, "decimal_places": 4}
RATE = {"max_digits": 12, "decimal_places": 6}


class ProgramType(models.TextChoices):
    SUPPLIER_REBATE = "supplier_rebate", "Supplier rebate"
    SHIP_AND_DEBIT = "ship_and_debit", "Ship-and-debit"
    CUSTOMER_VOLUME = "customer_volume", "Customer volume rebate"
    PRICE_PROTECTION = "price_protection", "Price protection"


# Program types whose accruals the supplier owes us (a receivable); the others we owe a customer.
SUPPLIER_SIDE = frozenset(
    {ProgramType.SUPPLIER_REBATE, ProgramType.SHIP_AND_DEBIT, ProgramType.PRICE_PROTECTION}
)


class AccrualBasis(models.TextChoices):
    """Which events earn the program's accruals."""

    RECEIPTS = "receipts", "Receipts (purchases)"
    SHIPMENTS = "shipments", "Sales shipments"
    INVOICES = "invoices", "Sales invoices"


class CalcMethod(models.TextChoices):
    PERCENT = "percent", "Percent of value"
    PER_UNIT = "per_unit", "Amount per unit"


class TierMode(models.TextChoices):
    """Retrospective: reaching a tier re-rates the whole period's volume at the tier's rate.
    Stepped: each band of volume earns its own band's rate."""

    RETROSPECTIVE = "retrospective", "Retrospective"
    STEPPED = "stepped", "Stepped"


class TierMeasure(models.TextChoices):
    QUANTITY = "quantity", "Quantity (units)"
    VALUE = "value", "Value (program currency)"


class Period(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class PayoutMethod(models.TextChoices):
    CREDIT_MEMO = "credit_memo", "Credit memo"
    CHECK = "check", "Check"
    DEDUCTION = "deduction", "Deduction from a payable"


class RebateProgram(models.Model):
    """One version of a program's terms. `code` names the program across versions; an active
    version is frozen (services refuse edits) and a change is a new draft with `version + 1`
    and `supersedes` pointing at the version it will replace when approved."""

    code = models.SlugField(max_length=40)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    name = models.CharField(max_length=160)
    program_type = models.CharField(max_length=20, choices=ProgramType.choices)
    status = models.CharField(max_length=20, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT)
    currency = CurrencyField(default="USD", help_text="Amounts, tiers of value and the budget are in it.")
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Supplier rebate, ship-and-debit, price protection: the supplier who pays.",
    )  # fmt: skip
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Customer volume rebate: the customer it is paid to (or a customer group).",
    )  # fmt: skip
    customer_segment = models.ForeignKey(
        PricingSegment, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Customer volume rebate: a customer group (pricing segment) instead of one customer.",
    )  # fmt: skip
    basis = models.CharField(max_length=10, choices=AccrualBasis.choices, default=AccrualBasis.SHIPMENTS)
    calc_method = models.CharField(max_length=10, choices=CalcMethod.choices, default=CalcMethod.PERCENT)
    tier_mode = models.CharField(max_length=15, choices=TierMode.choices, default=TierMode.STEPPED)
    tier_measure = models.CharField(max_length=10, choices=TierMeasure.choices, default=TierMeasure.VALUE)
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.QUARTER)
    start_date = models.DateField()
    end_date = models.DateField()
    budget_cap = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True,
        help_text="Optional: the most this program may accrue (program currency).",
    )  # fmt: skip
    accrued_amount = MoneyField(help_text="What it has accrued so far, net of reversals (program currency).")
    payout_method = models.CharField(
        max_length=12, choices=PayoutMethod.choices, default=PayoutMethod.CREDIT_MEMO
    )
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    brands = models.ManyToManyField(Brand, blank=True, related_name="+")
    categories = models.ManyToManyField(Category, blank=True, related_name="+")
    notes = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True, default="")
    row_version = models.PositiveIntegerField(default=1, help_text="Optimistic lock for staff edits.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="rebateprogram_code_version_unique"),
            models.CheckConstraint(
                condition=Q(status__in=ProgramStatus.values), name="rebateprogram_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(program_type__in=ProgramType.values), name="rebateprogram_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="rebateprogram_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(budget_cap__isnull=True) | Q(budget_cap__gt=0),
                name="rebateprogram_budget_positive",
            ),
            models.CheckConstraint(
                condition=Q(budget_cap__isnull=True) | Q(accrued_amount__lte=F("budget_cap")),
                name="rebateprogram_within_budget",
            ),
        ]
        indexes = [models.Index(fields=["status", "program_type"], name="rebateprogram_status_type")]

    def __str__(self) -> str:
        return f"{self.code} v{self.version} ({self.get_program_type_display()})"

    @property
    def supplier_side(self) -> bool:
        return self.program_type in SUPPLIER_SIDE


class ProgramTier(models.Model):
    """A band [lower, upper) of the period's volume (quantity or value, per the program) and its
    rate: a percent (5 = 5 %) or an amount per unit in the program currency. The last tier has no
    upper bound. Tiers of a program must not overlap and must leave no gap from 0."""

    program = models.ForeignKey(RebateProgram, on_delete=models.CASCADE, related_name="tiers")
    lower = models.DecimalField(**QUANTITY, default=Decimal("0"))
    upper = models.DecimalField(**QUANTITY, null=True, blank=True, help_text="Empty: no upper bound.")
    rate = models.DecimalField(
        **RATE, error_messages={"null": "A tier needs a rate.", "blank": "A tier needs a rate."}
    )

    class Meta:
        ordering = ["program", "lower"]
        constraints = [
            models.UniqueConstraint(fields=["program", "lower"], name="programtier_lower_unique"),
            models.CheckConstraint(condition=Q(lower__gte=0), name="programtier_lower_nonnegative"),
            models.CheckConstraint(
                condition=Q(upper__isnull=True) | Q(upper__gt=F("lower")),
                name="programtier_upper_above_lower",
            ),
            models.CheckConstraint(condition=Q(rate__gte=0), name="programtier_rate_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.lower}-{self.upper if self.upper is not None else '...'} @ {self.rate}"


class DebitMethod(models.TextChoices):
    NEW_COST = "new_cost", "New unit cost"
    AMOUNT_OFF = "amount_off", "Amount off per unit"
    PERCENT_OFF = "percent_off", "Percent off the unit cost"


class ShipDebitAuthorization(models.Model):
    """A supplier's ship-and-debit authorization under a ship-and-debit program: it lowers the
    distributor's cost of qualifying sales (eligible end customers or customer groups, eligible
    products, inside its dates, up to `max_quantity` units)."""

    program = models.ForeignKey(RebateProgram, on_delete=models.CASCADE, related_name="authorizations")
    number = models.CharField(max_length=40, help_text="The supplier's authorization number.")
    valid_from = models.DateField()
    valid_to = models.DateField()
    customers = models.ManyToManyField(Customer, blank=True, related_name="+")
    segments = models.ManyToManyField(PricingSegment, blank=True, related_name="+")
    products = models.ManyToManyField(Product, related_name="+")
    max_quantity = models.DecimalField(**QUANTITY, null=True, blank=True, help_text="Empty: no maximum.")
    consumed_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    method = models.CharField(max_length=12, choices=DebitMethod.choices, default=DebitMethod.AMOUNT_OFF)
    value = models.DecimalField(
        **RATE, help_text="New cost, amount off per unit (program currency), or percent off (5 = 5 %)."
    )
    base_cost = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True,
        help_text="The book unit cost the authorization lowers (program currency): needed for a new cost "
        "or a percent off.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="shipdebit_number_unique"),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")), name="shipdebit_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(max_quantity__gt=0), name="shipdebit_max_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(consumed_quantity__lte=F("max_quantity")),
                name="shipdebit_within_max",
            ),
            models.CheckConstraint(
                condition=Q(consumed_quantity__gte=0), name="shipdebit_consumed_nonnegative"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="shipdebit_value_nonnegative"),
            models.CheckConstraint(condition=Q(method__in=DebitMethod.values), name="shipdebit_method_valid"),
            models.CheckConstraint(
                condition=Q(method=DebitMethod.AMOUNT_OFF) | Q(base_cost__isnull=False),
                name="shipdebit_base_cost_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.program.code})"


class PriceDrop(models.Model):
    """Price protection: the supplier lowers its price of a product from `effective_date`; the
    distributor claims (old - new) on the stock on hand that date (per warehouse, from the ledger)
    and on the open purchase-order quantities."""

    program = models.ForeignKey(RebateProgram, on_delete=models.CASCADE, related_name="price_drops")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    effective_date = models.DateField()
    old_cost = models.DecimalField(max_digits=20, decimal_places=4)
    new_cost = models.DecimalField(max_digits=20, decimal_places=4)
    warehouses = models.ManyToManyField(
        Warehouse, blank=True, related_name="+", help_text="Empty: every warehouse."
    )
    accrued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "effective_date", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "product", "effective_date"], name="pricedrop_unique_per_date"
            ),
            models.CheckConstraint(condition=Q(new_cost__lt=F("old_cost")), name="pricedrop_is_a_drop"),
            models.CheckConstraint(condition=Q(new_cost__gte=0), name="pricedrop_new_cost_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.old_cost} -> {self.new_cost} from {self.effective_date}"


class RebateEvent(models.Model):
    """Audit row for every change in the rebates app: programs, authorizations, accruals runs,
    claims. Who, what, when, before/after."""

    object_type = models.CharField(max_length=30)  # "program" | "authorization" | "claim" | ...
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=40)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")
    actor = models.CharField(max_length=120, default="system")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="rebateevent_by_object")]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}: {self.action}"

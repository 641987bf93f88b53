"""Pricing configuration: price lists and tiers, segments and strategies, discount rules and coupons,
tax and shipping rules, exchange rates, the manual-adjustment guardrail.

Every model here except the version counter, coupon redemptions and stored quotes is part of the
*rule set* that the engine caches per process; saving or deleting any of them bumps
`PricingRulesetVersion` (see `pricing/signals.py`), which makes every process reload on its next
pricing call. How the pieces combine is in docs/pricing.md.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import CurrencyField, MoneyField, validate_currency

ZERO = Decimal(0)


def _dates_in_order(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
        name=f"{prefix}_dates_in_order",
    )


def _iso2_or_blank(field: str) -> Q:
    return Q(**{field: ""}) | (Q(Exact(Length(field), 2)) & Q(Exact(Upper(field), F(field))))


class ValidityMixin(models.Model):
    """Effective dates, both inclusive; empty means open-ended."""

    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True

    def _clean_dates(self) -> None:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "The end date is before the start date."})


def _clean_currency(instance, field: str = "currency", *, blank_ok: bool = False) -> None:
    value = getattr(instance, field)
    if blank_ok and not value:
        return
    try:
        setattr(instance, field, validate_currency(value))
    except ValidationFailed as exc:
        raise ValidationError({field: exc.message}) from exc


# --- the cache key ----------------------------------------------------------------------------


class PricingRulesetVersion(models.Model):
    """One row (pk=1): bumped on every change to the rule set; every process compares it per call."""

    version = models.BigIntegerField(default=0)
    token = models.CharField(
        max_length=32, default="", help_text="Random per bump: a reused number never matches."
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "pricing rule set version"

    def __str__(self) -> str:
        return f"rule set v{self.version}"


# --- price lists ------------------------------------------------------------------------------


class PriceListStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class PriceList(ValidityMixin):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    currency = CurrencyField(
        help_text="ISO 4217; orders in another currency are converted at the dated rate."
    )
    status = models.CharField(max_length=10, choices=PriceListStatus.choices, default=PriceListStatus.DRAFT)
    description = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            _dates_in_order("pricelist"),
            models.CheckConstraint(
                condition=Q(status__in=PriceListStatus.values), name="pricelist_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}, {self.currency})"

    def clean(self) -> None:
        self._clean_dates()
        _clean_currency(self)


class TierBasis(models.TextChoices):
    QUANTITY = "quantity", "Quantity"
    AMOUNT = "amount", "Amount (quantity x unit price)"


class TierMode(models.TextChoices):
    ALL_UNITS = "all_units", "All units at the reached tier"
    GRADUATED = "graduated", "Graduated (each band at its own price)"
    BLOCK = "block", "Block (price per block of N)"


class BlockRounding(models.TextChoices):
    UP = "up", "Partial blocks round up"
    PRORATE = "prorate", "Partial blocks pro-rated"


class ChargeType(models.TextChoices):
    ONE_TIME = "one_time", "One-time"
    RECURRING = "recurring", "Recurring"


class RecurringPeriod(models.TextChoices):
    MONTH = "month", "Monthly"
    QUARTER = "quarter", "Quarterly"
    YEAR = "year", "Yearly"


class PriceListItem(models.Model):
    """A product's price in a list, per unit of measure, with optional tiers."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    uom = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    unit_price = MoneyField(
        validators=[MinValueValidator(ZERO)],
        help_text="Per unit (per block in block mode; per period for recurring charges). Without tiers "
        "this is the price; with amount-based tiers it also measures the amount.",
    )
    tier_basis = models.CharField(max_length=10, choices=TierBasis.choices, default=TierBasis.QUANTITY)
    tier_mode = models.CharField(max_length=10, choices=TierMode.choices, default=TierMode.ALL_UNITS)
    block_size = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, help_text="Units per block (block mode)."
    )
    block_rounding = models.CharField(max_length=10, choices=BlockRounding.choices, default=BlockRounding.UP)
    charge_type = models.CharField(max_length=10, choices=ChargeType.choices, default=ChargeType.ONE_TIME)
    recurring_period = models.CharField(
        max_length=10, choices=RecurringPeriod.choices, blank=True, default=""
    )
    recurring_periods = models.PositiveIntegerField(
        null=True, blank=True, help_text="Number of periods; empty = until cancelled."
    )

    class Meta:
        ordering = ["price_list", "product", "uom"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product", "uom"], name="pricelistitem_unique"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="pricelistitem_price_not_negative"),
            models.CheckConstraint(
                condition=~Q(tier_mode=TierMode.BLOCK) | Q(block_size__gt=0),
                name="pricelistitem_block_has_size",
            ),
            models.CheckConstraint(
                condition=(Q(charge_type=ChargeType.ONE_TIME) & Q(recurring_period=""))
                | (Q(charge_type=ChargeType.RECURRING) & ~Q(recurring_period="")),
                name="pricelistitem_recurring_has_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list.code}: {self.product_id} / {self.uom_id} @ {self.unit_price}"

    def clean(self) -> None:
        if self.tier_mode == TierMode.BLOCK and not (self.block_size and self.block_size > 0):
            raise ValidationError({"block_size": "Block pricing needs a block size above zero."})
        if self.charge_type == ChargeType.RECURRING and not self.recurring_period:
            raise ValidationError({"recurring_period": "A recurring charge needs a period."})
        if self.charge_type == ChargeType.ONE_TIME:
            self.recurring_period = ""
            self.recurring_periods = None


class PriceTier(models.Model):
    """A band `lower < measure <= upper` (upper empty = no limit) with its price.

    The measure is the quantity (in the item's unit) or, for amount-based tiers, quantity x the
    item's unit price. The bands of an item start at 0 and follow each other without gap or overlap.
    """

    item = models.ForeignKey(PriceListItem, on_delete=models.CASCADE, related_name="tiers")
    lower = models.DecimalField(max_digits=20, decimal_places=4, default=ZERO, help_text="Exclusive.")
    upper = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, help_text="Inclusive; empty = no limit."
    )
    unit_price = MoneyField(validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["item", "lower"]
        constraints = [
            models.UniqueConstraint(fields=["item", "lower"], name="pricetier_unique_lower"),
            models.CheckConstraint(condition=Q(lower__gte=0), name="pricetier_lower_not_negative"),
            models.CheckConstraint(
                condition=Q(upper__isnull=True) | Q(upper__gt=F("lower")), name="pricetier_upper_above_lower"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="pricetier_price_not_negative"),
        ]

    def __str__(self) -> str:
        upper = "no limit" if self.upper is None else self.upper
        return f"over {self.lower} up to {upper} @ {self.unit_price}"

    def clean(self) -> None:
        if self.upper is not None and self.lower is not None and self.upper <= self.lower:
            raise ValidationError({"upper": "The upper bound must be above the lower bound."})


def tiers_validate(bands: list[tuple[Decimal, Decimal | None]]) -> list[str]:
    """Problems with a set of bands (lower, upper): overlaps, gaps, a missing start or open end."""
    problems: list[str] = []
    if not bands:
        return problems
    ordered = sorted(bands, key=lambda b: b[0])
    if ordered[0][0] != 0:
        problems.append(f"The first tier must start at 0 (it starts at {ordered[0][0]}).")
    for (lo1, up1), (lo2, _up2) in pairwise(ordered):
        if up1 is None:
            problems.append(f"The tier over {lo1} has no upper bound but another tier starts at {lo2}.")
        elif lo2 < up1:
            problems.append(f"Tiers overlap: over {lo1} up to {up1}, and over {lo2}.")
        elif lo2 > up1:
            problems.append(f"Gap between tiers: nothing covers over {up1} up to {lo2}.")
    if ordered[-1][1] is not None:
        problems.append(f"The last tier must have no upper bound (it stops at {ordered[-1][1]}).")
    return problems


# --- who gets which prices -------------------------------------------------------------------


class PricingSegment(models.Model):
    """A group of customers: by criteria (all that are set must hold) or by explicit assignment."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    priority = models.IntegerField(default=100, help_text="Lower first when a customer is in several.")
    active = models.BooleanField(default=True)
    demand_class = models.CharField(max_length=10, blank=True, default="", help_text="Empty = any.")
    customer_kind = models.CharField(max_length=10, blank=True, default="", help_text="Empty = any.")
    channel = models.ForeignKey(
        "partners.Channel", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    country = models.CharField(
        max_length=2, blank=True, default="", help_text="The customer's bill-to country (ISO 3166-1)."
    )
    min_credit_limit = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, help_text="Size: credit limit at least."
    )
    max_credit_limit = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, help_text="Size: credit limit below."
    )
    members = models.ManyToManyField(
        "customers.Customer", through="SegmentMembership", related_name="+", blank=True
    )

    class Meta:
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(condition=_iso2_or_blank("country"), name="segment_country_iso2"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from customers.models import CustomerKind, DemandClass

        if self.demand_class and self.demand_class not in DemandClass.values:
            raise ValidationError({"demand_class": f"One of {', '.join(DemandClass.values)}, or empty."})
        if self.customer_kind and self.customer_kind not in CustomerKind.values:
            raise ValidationError({"customer_kind": f"One of {', '.join(CustomerKind.values)}, or empty."})
        self.country = (self.country or "").upper()
        if (
            self.min_credit_limit is not None
            and self.max_credit_limit is not None
            and self.max_credit_limit <= self.min_credit_limit
        ):
            raise ValidationError({"max_credit_limit": "Must be above the minimum."})


class SegmentMembership(models.Model):
    segment = models.ForeignKey(PricingSegment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segmentmembership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class ListSelection(models.TextChoices):
    FIRST = "first", "First list (in order) that has the item"
    LOWEST = "lowest", "Best price: the lowest of the lists that have the item"


class PricingStrategy(models.Model):
    """An ordered set of price lists and a set of discount rules, assigned to customers, segments,
    channels or as the default."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    list_selection = models.CharField(
        max_length=10, choices=ListSelection.choices, default=ListSelection.FIRST
    )
    rules = models.ManyToManyField("DiscountRule", blank=True, related_name="strategies")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "pricing strategies"

    def __str__(self) -> str:
        return self.name


class StrategyPriceList(models.Model):
    strategy = models.ForeignKey(PricingStrategy, on_delete=models.CASCADE, related_name="price_lists")
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["strategy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "price_list"], name="strategypricelist_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.price_list_id}"


class AssignmentLevel(models.TextChoices):
    CUSTOMER = "customer", "Customer-specific"
    SEGMENT = "segment", "Segment"
    CHANNEL = "channel", "Channel"
    DEFAULT = "default", "Default"


# Precedence: a lower rank wins (customer-specific > segment > channel > default).
LEVEL_RANK = {
    AssignmentLevel.CUSTOMER: 0,
    AssignmentLevel.SEGMENT: 1,
    AssignmentLevel.CHANNEL: 2,
    AssignmentLevel.DEFAULT: 3,
}


class StrategyAssignment(ValidityMixin):
    strategy = models.ForeignKey(PricingStrategy, on_delete=models.CASCADE, related_name="assignments")
    level = models.CharField(max_length=10, choices=AssignmentLevel.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    segment = models.ForeignKey(
        PricingSegment, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments"
    )
    channel = models.ForeignKey(
        "partners.Channel", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["level", "id"]
        constraints = [
            _dates_in_order("strategyassignment"),
            models.CheckConstraint(
                condition=(
                    Q(
                        level=AssignmentLevel.CUSTOMER,
                        customer__isnull=False,
                        segment__isnull=True,
                        channel__isnull=True,
                    )
                    | Q(
                        level=AssignmentLevel.SEGMENT,
                        customer__isnull=True,
                        segment__isnull=False,
                        channel__isnull=True,
                    )
                    | Q(
                        level=AssignmentLevel.CHANNEL,
                        customer__isnull=True,
                        segment__isnull=True,
                        channel__isnull=False,
                    )
                    | Q(
                        level=AssignmentLevel.DEFAULT,
                        customer__isnull=True,
                        segment__isnull=True,
                        channel__isnull=True,
                    )
                ),
                name="strategyassignment_target_matches_level",
            ),
        ]

    def __str__(self) -> str:
        target = self.customer_id or self.segment_id or self.channel_id or ""
        return f"{self.strategy_id} -> {self.level} {target}".strip()

    def clean(self) -> None:
        self._clean_dates()
        wanted = {
            AssignmentLevel.CUSTOMER: "customer",
            AssignmentLevel.SEGMENT: "segment",
            AssignmentLevel.CHANNEL: "channel",
        }.get(self.level)
        for name in ("customer", "segment", "channel"):
            has = getattr(self, f"{name}_id") is not None
            if name == wanted and not has:
                raise ValidationError({name: f"A {self.level} assignment names a {name}."})
            if name != wanted and has:
                raise ValidationError({name: f"A {self.level or '...'} assignment has no {name}."})


# --- discount rules and coupons --------------------------------------------------------------


class RuleLevel(models.TextChoices):
    LINE = "line", "Line"
    ORDER = "order", "Order (header; spread over lines)"


class RuleAction(models.TextChoices):
    PERCENT_OFF = "percent_off", "Percent off"
    AMOUNT_OFF = "amount_off", "Amount off (per unit on a line; once on an order)"
    PRICE_OVERRIDE = "price_override", "Price override (unit price)"
    MARKUP = "markup", "Markup (percent added)"
    BUY_X_GET_Y = "buy_x_get_y", "Buy X get Y (value = percent off the Y units)"


class ApplyOn(models.TextChoices):
    NET = "net", "Cascade: on the running net"
    LIST = "list", "Accumulate: on the list amount"


class Combination(models.TextChoices):
    STACKABLE = "stackable", "Stackable"
    EXCLUSIVE = "exclusive", "Exclusive (stops the chain)"
    BEST_PRICE = "best_price", "Best price (only the lowest of these applies)"


class DiscountRule(ValidityMixin):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    active = models.BooleanField(default=True)
    priority = models.IntegerField(default=100, help_text="Lower first within a precedence level.")
    level = models.CharField(max_length=10, choices=RuleLevel.choices, default=RuleLevel.LINE)
    action = models.CharField(max_length=20, choices=RuleAction.choices)
    value = models.DecimalField(
        max_digits=20, decimal_places=4, default=ZERO, help_text="Percent, or an amount in the currency."
    )
    currency = CurrencyField(blank=True, default="", help_text="For amounts; converted at the dated rate.")
    buy_quantity = models.PositiveIntegerField(null=True, blank=True)
    get_quantity = models.PositiveIntegerField(null=True, blank=True)
    apply_on = models.CharField(max_length=10, choices=ApplyOn.choices, default=ApplyOn.NET)
    combination = models.CharField(max_length=12, choices=Combination.choices, default=Combination.STACKABLE)
    # Conditions: every dimension that is set must match; within a dimension any entry matches.
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text="Includes their subcategories."
    )
    brands = models.ManyToManyField("catalog.Brand", blank=True, related_name="+")
    customers = models.ManyToManyField("customers.Customer", blank=True, related_name="+")
    segments = models.ManyToManyField(PricingSegment, blank=True, related_name="rules")
    channels = models.ManyToManyField("partners.Channel", blank=True, related_name="+")
    min_quantity = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, help_text="Line quantity at least."
    )
    min_order_quantity = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    min_order_amount = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, help_text="In the rule's currency if set."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "code"]
        constraints = [
            _dates_in_order("discountrule"),
            models.CheckConstraint(condition=Q(value__gte=0), name="discountrule_value_not_negative"),
            models.CheckConstraint(
                condition=Q(action__in=RuleAction.values), name="discountrule_action_valid"
            ),
            models.CheckConstraint(
                condition=~Q(action=RuleAction.BUY_X_GET_Y) | (Q(buy_quantity__gt=0) & Q(get_quantity__gt=0)),
                name="discountrule_bxgy_quantities",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        self._clean_dates()
        _clean_currency(self, blank_ok=True)
        if self.action in (RuleAction.AMOUNT_OFF, RuleAction.PRICE_OVERRIDE) and not self.currency:
            raise ValidationError({"currency": "An amount needs its currency."})
        if self.action in (RuleAction.PERCENT_OFF, RuleAction.BUY_X_GET_Y) and self.value > 100:
            raise ValidationError({"value": "A percentage off is at most 100."})
        if self.action == RuleAction.BUY_X_GET_Y and not (self.buy_quantity and self.get_quantity):
            raise ValidationError({"buy_quantity": "Buy X get Y needs both quantities."})
        if self.level == RuleLevel.ORDER and self.action not in (
            RuleAction.PERCENT_OFF,
            RuleAction.AMOUNT_OFF,
        ):
            raise ValidationError({"action": "An order-level rule is a percent or an amount off."})


class Coupon(ValidityMixin):
    """A code that unlocks its rule; usage limits hold under concurrent orders (coupon_redeem)."""

    code = models.CharField(max_length=40, unique=True, help_text="Stored upper case; matched case-blind.")
    rule = models.ForeignKey(DiscountRule, on_delete=models.CASCADE, related_name="coupons")
    active = models.BooleanField(default=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = unlimited.")
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            _dates_in_order("coupon"),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(times_used__lte=F("max_uses")),
                name="coupon_not_overused",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        self._clean_dates()
        self.code = (self.code or "").strip().upper()


class CouponRedemption(models.Model):
    """One use of a coupon by an order (an opaque reference: orders sit above pricing)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order_ref = models.CharField(max_length=64)
    redeemed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "order_ref"], name="couponredemption_once_per_order"),
        ]
        indexes = [models.Index(fields=["coupon", "customer"], name="couponredemption_customer")]

    def __str__(self) -> str:
        return f"{self.coupon_id} by {self.order_ref}"


# --- charges ---------------------------------------------------------------------------------


class TaxRule(ValidityMixin):
    """A tax rate for a product tax class in a country, or in one region of it (the region wins)."""

    name = models.CharField(max_length=120)
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=100, blank=True, default="", help_text="Empty = the whole country.")
    tax_class = models.ForeignKey("catalog.TaxClass", on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, e.g. 8.8750.")

    class Meta:
        ordering = ["country", "region", "tax_class"]
        constraints = [
            _dates_in_order("taxrule"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="taxrule_rate_percent"),
            models.CheckConstraint(
                condition=_iso2_or_blank("country") & ~Q(country=""), name="taxrule_country"
            ),
        ]

    def __str__(self) -> str:
        where = f"{self.country}-{self.region}" if self.region else self.country
        return f"{self.name} ({where}, {self.rate}%)"

    def clean(self) -> None:
        self._clean_dates()
        self.country = (self.country or "").upper()


class ShippingRule(ValidityMixin):
    """A shipping charge for a ship method to a destination, within weight and order-amount brackets."""

    name = models.CharField(max_length=120)
    ship_method = models.SlugField(max_length=40)
    country = models.CharField(max_length=2, blank=True, default="", help_text="Empty = anywhere.")
    region = models.CharField(max_length=100, blank=True, default="", help_text="Empty = the whole country.")
    currency = CurrencyField()
    min_weight_kg = models.DecimalField(max_digits=14, decimal_places=4, default=ZERO)
    max_weight_kg = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, help_text="Exclusive; empty = no limit."
    )
    min_order_amount = MoneyField(help_text="Goods net at least (this rule's currency).")
    max_order_amount = MoneyField(null=True, blank=True, default=None, help_text="Exclusive.")
    flat_amount = MoneyField(validators=[MinValueValidator(ZERO)])
    per_kg_amount = MoneyField(validators=[MinValueValidator(ZERO)])
    free_over_amount = MoneyField(
        null=True, blank=True, default=None, help_text="Free shipping when the goods net reaches this."
    )
    taxable = models.BooleanField(default=False, help_text="Shipping is taxed at each line's rate.")
    priority = models.IntegerField(default=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["ship_method", "country", "region", "priority"]
        constraints = [
            _dates_in_order("shippingrule"),
            models.CheckConstraint(condition=_iso2_or_blank("country"), name="shippingrule_country_iso2"),
            models.CheckConstraint(
                condition=Q(max_weight_kg__isnull=True) | Q(max_weight_kg__gt=F("min_weight_kg")),
                name="shippingrule_weight_bracket",
            ),
            models.CheckConstraint(
                condition=Q(max_order_amount__isnull=True) | Q(max_order_amount__gt=F("min_order_amount")),
                name="shippingrule_amount_bracket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ship_method})"

    def clean(self) -> None:
        self._clean_dates()
        _clean_currency(self)
        self.country = (self.country or "").upper()
        if self.region and not self.country:
            raise ValidationError({"region": "A region needs its country."})


# --- currencies ------------------------------------------------------------------------------


class ExchangeRate(models.Model):
    """1 `base` = `rate` `quote`, from `valid_on` until the next row of the pair."""

    base = CurrencyField()
    quote = CurrencyField()
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    valid_on = models.DateField()

    class Meta:
        ordering = ["base", "quote", "-valid_on"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "valid_on"], name="exchangerate_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="exchangerate_distinct"),
        ]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} on {self.valid_on}"

    def clean(self) -> None:
        _clean_currency(self, "base")
        _clean_currency(self, "quote")
        if self.base == self.quote:
            raise ValidationError({"quote": "A rate converts between two different currencies."})


# --- manual adjustments ----------------------------------------------------------------------


class PricingPolicy(models.Model):
    """One row (pk=1): the guardrail on manual adjustments."""

    max_manual_discount_percent = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("20"),
        help_text="A manual adjustment that leaves a line more than this far below list needs approval.",
    )

    class Meta:
        verbose_name = "pricing policy"
        verbose_name_plural = "pricing policy"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_manual_discount_percent__gte=0) & Q(max_manual_discount_percent__lte=100),
                name="pricingpolicy_percent",
            )
        ]

    def __str__(self) -> str:
        return f"Manual discounts above {self.max_manual_discount_percent}% off list need approval"


class AdjustmentReason(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


# --- stored quotes (for tasks) ---------------------------------------------------------------


class QuoteStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PRICED = "priced", "Priced"
    FAILED = "failed", "Failed"


class PriceQuote(models.Model):
    """A stored pricing request and its breakdown (priced by a worker: `price_quote_task`)."""

    request = models.JSONField()
    explain = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.PENDING)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    ruleset_version = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    priced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=QuoteStatus.values), name="pricequote_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"quote {self.pk} ({self.status})"


# Models whose rows make up the cached rule set: a change to any of them bumps the version.
RULESET_MODELS = (
    PriceList,
    PriceListItem,
    PriceTier,
    PricingSegment,
    SegmentMembership,
    PricingStrategy,
    StrategyPriceList,
    StrategyAssignment,
    DiscountRule,
    Coupon,
    TaxRule,
    ShippingRule,
    ExchangeRate,
    PricingPolicy,
    AdjustmentReason,
)

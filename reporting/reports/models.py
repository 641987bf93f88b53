"""The reporting read model: one row per line of each order's current revision, dated by the
day the order was first captured, with every dimension and filter the reports group on copied
in (no join at read time). Kept current by `rollups.facts_refresh` (see docs/reporting.md)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from oms.kernel.money import CurrencyField, MoneyField

QUANTITY = {"max_digits": 14, "decimal_places": 4}
RATE = {"max_digits": 32, "decimal_places": 20}
# An amount times a rate, summed: exact (4 + 20 decimal places), rounded only when shown.
CONVERTED = {"max_digits": 48, "decimal_places": 24, "default": Decimal(0)}


class SalesFact(models.Model):
    """A line of an order's current revision. Ids are plain numbers (not foreign keys): the row
    is a copy that a refresh replaces, never a reference that would hold the source rows."""

    line_id = models.BigIntegerField(unique=True)
    order_id = models.BigIntegerField()
    order_number = models.CharField(max_length=30)
    day = models.DateField(help_text="The day the order was first captured (TIME_ZONE).")
    channel_id = models.BigIntegerField()
    warehouse_id = models.BigIntegerField(null=True)
    currency = CurrencyField()
    status = models.CharField(max_length=20, help_text="The order's status.")
    customer_group = models.CharField(max_length=10, help_text="The order's demand class.")
    customer_id = models.BigIntegerField()
    seller_id = models.BigIntegerField(null=True, help_text="The sales rep on the order.")
    country = models.CharField(max_length=2, blank=True, default="")
    region = models.CharField(max_length=60, blank=True, default="")
    source_page = models.CharField(max_length=500, blank=True, default="")
    campaign = models.CharField(max_length=100, blank=True, default="")
    product_id = models.BigIntegerField()
    brand_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    quantity = models.DecimalField(**QUANTITY)
    revenue = MoneyField(help_text="Net of discounts, before tax and shipping, in the order currency.")
    cost = MoneyField(null=True, help_text="Standard cost x quantity, when the cost is known.")
    canceled = models.BooleanField(default=False, help_text="Left out of every figure, counted as excluded.")
    rate = models.DecimalField(
        **RATE,
        null=True,
        help_text="Pricing's dated rate of the day into OMS_REPORT_CURRENCY when refreshed (null: no rate).",
    )

    class Meta:
        indexes = [
            models.Index(fields=["day", "currency"], name="salesfact_day"),
            models.Index(fields=["order_number"], name="salesfact_order"),
            models.Index(fields=["product_id", "day"], name="salesfact_product_day"),
            models.Index(fields=["customer_id", "day"], name="salesfact_customer_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} line {self.line_id} on {self.day}"


class SalesRollup(models.Model):
    """The sales facts summed per calendar month (`span` m) and quarter (`span` q) and per key of
    one ranking dimension (`dim`, see rollups.DIM_CODES), amounts converted into
    OMS_REPORT_CURRENCY at each fact's recorded rate. Canceled lines are not in it. Kept by
    deltas: a refresh subtracts an order's old facts and adds its new ones."""

    span = models.CharField(max_length=1)
    period = models.DateField(help_text="The first day of the month or quarter.")
    dim = models.PositiveSmallIntegerField()
    key_id = models.BigIntegerField(default=0)
    key_text = models.CharField(max_length=520, blank=True, default="")
    lines = models.IntegerField(default=0)
    orders = models.IntegerField(default=0, help_text="Distinct orders (an order has one day).")
    units = models.DecimalField(**QUANTITY, default=Decimal(0))
    revenue = models.DecimalField(**CONVERTED)
    cost = models.DecimalField(**CONVERTED)
    costed_revenue = models.DecimalField(**CONVERTED, help_text="Revenue of the lines whose cost is known.")
    costed_lines = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dim", "span", "period", "key_id", "key_text"], name="salesrollup_one_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dim} {self.key_id or self.key_text} {self.span} {self.period}"


class SalesDayTotal(models.Model):
    """The sales facts summed per day (all dimensions): the totals, the exclusion and the date
    rankings; `unrated` counts facts with no rate into OMS_REPORT_CURRENCY."""

    day = models.DateField(unique=True)
    lines = models.IntegerField(default=0)
    orders = models.IntegerField(default=0)
    units = models.DecimalField(**QUANTITY, default=Decimal(0))
    revenue = models.DecimalField(**CONVERTED)
    cost = models.DecimalField(**CONVERTED)
    costed_revenue = models.DecimalField(**CONVERTED)
    costed_lines = models.IntegerField(default=0)
    costed_orders = models.IntegerField(default=0)
    canceled_lines = models.IntegerField(default=0)
    canceled_units = models.DecimalField(**QUANTITY, default=Decimal(0))
    canceled_revenue = models.DecimalField(**CONVERTED)
    unrated = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.lines} lines"


class SalesOrderTotal(models.Model):
    """One row per order with lines not canceled: the largest-orders ranking reads it through
    its revenue index and stops after the page."""

    order_number = models.CharField(max_length=30, unique=True)
    day = models.DateField()
    units = models.DecimalField(**QUANTITY, default=Decimal(0))
    revenue = models.DecimalField(**CONVERTED)
    cost = models.DecimalField(**CONVERTED)
    costed_revenue = models.DecimalField(**CONVERTED)
    costed_lines = models.IntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(F("revenue").desc(), "order_number", name="salesordertotal_revenue"),
            models.Index(fields=["day"], name="salesordertotal_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_number}: {self.revenue}"


class SalesFxDay(models.Model):
    """The rate each (currency, day) of the facts was converted at: the catch-up compares it
    with pricing's current rates and refreshes the orders of the days whose rate changed."""

    currency = CurrencyField()
    day = models.DateField()
    rate = models.DecimalField(**RATE, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "day"], name="salesfxday_one_per_day")]

    def __str__(self) -> str:
        return f"{self.currency} {self.day}: {self.rate}"


class ProductCost(models.Model):
    """A product's standard cost per base unit in one currency: gross margin is reported for the
    lines whose product has a cost in the order's currency and that were ordered in the base unit
    (elsewhere the cost is unknown and the line is left out of the margin, not counted as zero)."""

    product_id = models.BigIntegerField()
    currency = CurrencyField()
    unit_cost = MoneyField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product_id", "currency"], name="productcost_one_per_currency"),
            models.CheckConstraint(condition=Q(unit_cost__gte=Decimal(0)), name="productcost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}: {self.unit_cost} {self.currency}"


class RollupCursor(models.Model):
    """How far the periodic catch-up has read the order audit trail (the last OrderEvent id)."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_event_id}"


class ReportFrequency(models.TextChoices):
    DAILY = "daily", "Daily (yesterday)"
    WEEKLY = "weekly", "Weekly (the 7 days before the send day)"


class ScheduledReport(models.Model):
    """A saved ranking mailed as a CSV file to a list of addresses, daily or weekly. The saved
    query's own dates are replaced by the period the schedule covers."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    query = models.CharField(
        max_length=1000, help_text="The ranking's query string (dimension, metric, filters)."
    )
    recipients = models.TextField(help_text="E-mail addresses, separated by commas.")
    frequency = models.CharField(
        max_length=10, choices=ReportFrequency.choices, default=ReportFrequency.DAILY
    )
    weekday = models.PositiveSmallIntegerField(default=0, help_text="Weekly: 0 = Monday ... 6 = Sunday.")
    active = models.BooleanField(default=True)
    last_sent_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=ReportFrequency.values), name="scheduledreport_frequency_valid"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="scheduledreport_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.frequency})"

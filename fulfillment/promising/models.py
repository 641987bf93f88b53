"""Promising data the business sets in the admin: sourcing rules (effective-dated, per destination
and optionally per category or product, with ranked sources), facility capacity calendars, and
the promise kept per fulfillment line (its source, dates, mode and the trace of why).

Demand-class allocation shares live in inventory (`inventory.AllocationRule`): promising reads
them with the supply they ration.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Category, Product
from inventory.models import Warehouse, WarehouseType
from oms.kernel.money import CurrencyField, MoneyField


class RankingPolicy(models.TextChoices):
    RANK = "rank", "By rank (first source that can keep the date)"
    PROFIT = "profit", "By profit (best margin among on-time sources, then the earliest date)"


class SourcingRule(models.Model):
    """Which sources may serve a destination, best first. The most specific rule that matches a
    line wins: a product rule beats a category rule beats an item-less one; among those, a
    postcode range beats a region beats a country beats a global rule."""

    name = models.CharField(max_length=120)
    country = models.CharField(
        max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2; empty: global"
    )
    region = models.CharField(max_length=100, blank=True, default="", help_text="Empty: the whole country.")
    postcode_from = models.CharField(max_length=20, blank=True, default="")
    postcode_to = models.CharField(max_length=20, blank=True, default="")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    effective_from = models.DateField(default=date.today)
    effective_to = models.DateField(
        null=True, blank=True, help_text="Last day the rule applies; empty: open."
    )
    ranking = models.CharField(max_length=10, choices=RankingPolicy.choices, default=RankingPolicy.RANK)
    min_split_quantity = models.DecimalField(
        max_digits=20,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="A line split across sources takes at least this much from each (0: any).",
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "region", "postcode_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=True) | Q(category__isnull=True),
                name="sourcing_rule_one_item_scope",
            ),
            models.CheckConstraint(
                condition=Q(ranking__in=RankingPolicy.values), name="sourcing_rule_ranking_valid"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="sourcing_rule_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(min_split_quantity__gte=0), name="sourcing_rule_min_split_not_negative"
            ),
            models.CheckConstraint(
                condition=(Q(postcode_from="") & Q(postcode_to=""))
                | (~Q(postcode_from="") & ~Q(postcode_to="")),
                name="sourcing_rule_postcode_range_whole",
            ),
        ]
        indexes = [models.Index(fields=["active", "country"], name="sourcing_rule_by_country")]

    def __str__(self) -> str:
        return self.name

    @property
    def item_level(self) -> int:
        return 2 if self.product_id else (1 if self.category_id else 0)

    @property
    def geo_level(self) -> int:
        if self.postcode_from:
            return 3
        return 2 if self.region else (1 if self.country else 0)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.product_id and self.category_id:
            errors["category"] = ["A rule names a product or a category, not both."]
        if (self.region or self.postcode_from) and not self.country:
            errors["country"] = ["A region or postcode range needs its country."]
        if bool(self.postcode_from) != bool(self.postcode_to):
            errors["postcode_to"] = ["A postcode range needs both ends."]
        elif self.postcode_from and self.postcode_from.upper() > self.postcode_to.upper():
            errors["postcode_to"] = ["The range ends before it starts."]
        if self.effective_to and self.effective_to < self.effective_from:
            errors["effective_to"] = ["The rule ends before it starts."]
        if errors:
            raise ValidationError(errors)
        self.country = self.country.upper()


class SourcingRuleSource(models.Model):
    """One ranked source of a rule: a warehouse or a store (a warehouse of type store), or a
    supplier's ship-from site (a warehouse of type supplier: drop ship, with its lead time)."""

    rule = models.ForeignKey(SourcingRule, on_delete=models.CASCADE, related_name="sources")
    rank = models.PositiveSmallIntegerField(default=1)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    transit_days = models.IntegerField(help_text="Days on the road from this source to the destination.")
    lead_time_days = models.PositiveIntegerField(default=0, help_text="A supplier's days before it ships.")
    shipping_cost = MoneyField(validators=[MinValueValidator(0)])
    transfer_cost = MoneyField(validators=[MinValueValidator(0)])
    unit_cost = MoneyField(
        validators=[MinValueValidator(0)], help_text="Cost of one unit from this source (a supplier's price)."
    )
    currency = CurrencyField(default="USD")

    class Meta:
        ordering = ["rule", "rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "warehouse"], name="sourcing_source_unique"),
            models.CheckConstraint(
                condition=Q(transit_days__gte=0), name="sourcing_source_transit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(shipping_cost__gte=0), name="sourcing_source_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.warehouse_id}"

    def clean(self) -> None:
        if self.transit_days is not None and self.transit_days < 0:
            raise ValidationError({"transit_days": ["Transit time cannot be negative."]})


class CapacityUnit(models.TextChoices):
    LINES = "lines", "Lines per day"
    ORDERS = "orders", "Orders per day"
    UNITS = "units", "Units per day"


class FacilityCapacity(models.Model):
    """A facility's daily capacity over a period (its calendar): promising consumes it and moves a
    promise to the next working day that still has room. Periods of one facility never overlap."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    unit = models.CharField(max_length=10, choices=CapacityUnit.choices, default=CapacityUnit.LINES)
    daily_limit = models.PositiveIntegerField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Empty: open-ended.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "facility capacities"
        ordering = ["warehouse", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__in=CapacityUnit.values), name="facility_capacity_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="facility_capacity_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id}: {self.daily_limit} {self.unit} from {self.valid_from}"

    def clean(self) -> None:
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": ["The period ends before it starts."]})
        if not self.warehouse_id or not self.valid_from:
            return
        overlapping = FacilityCapacity.objects.filter(warehouse_id=self.warehouse_id).exclude(pk=self.pk)
        overlapping = overlapping.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from))
        if self.valid_to:
            overlapping = overlapping.filter(valid_from__lte=self.valid_to)
        clash = overlapping.first()
        if clash is not None:
            raise ValidationError(
                {
                    "valid_from": [
                        f"Overlaps the period from {clash.valid_from} ({clash.daily_limit} {clash.unit})."
                    ]
                }
            )


class CapacityUsage(models.Model):
    """What promises have taken of a facility's capacity on a day (lines, orders, units)."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    lines = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    units = models.DecimalField(max_digits=20, decimal_places=4, default=0)

    class Meta:
        ordering = ["warehouse", "day"]
        constraints = [models.UniqueConstraint(fields=["warehouse", "day"], name="capacity_usage_unique")]

    def __str__(self) -> str:
        return f"{self.warehouse_id} {self.day}: {self.lines} lines"


class PromiseStatus(models.TextChoices):
    PROMISED = "promised", "Promised"
    PARKED = "parked", "Parked (nothing could fill it)"
    SUPERSEDED = "superseded", "Superseded"


class LinePromise(models.Model):
    """The promise made for one fulfillment line: where from, when, how, and why. A parked promise
    (nothing could fill the line) waits for re-brokering."""

    fulfillment_line = models.OneToOneField(
        "fulfillment.FulfillmentLine", on_delete=models.CASCADE, related_name="promise"
    )
    order_number = models.CharField(max_length=30, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    demand_class = models.CharField(max_length=20, default="standard")
    status = models.CharField(max_length=12, choices=PromiseStatus.choices, default=PromiseStatus.PROMISED)
    mode = models.CharField(max_length=20, blank=True, default="")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(SourcingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    scheduled_ship_date = models.DateField(null=True, blank=True)
    scheduled_arrival_date = models.DateField(null=True, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    trace = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PromiseStatus.values), name="line_promise_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "product"], name="line_promise_parked")]

    def __str__(self) -> str:
        return f"promise {self.fulfillment_line_id}: {self.status} {self.promised_date}"


SOURCE_TYPES = (WarehouseType.DISTRIBUTION_CENTER, WarehouseType.STORE, WarehouseType.SUPPLIER)

"""Sales orders and their lines, revisions, holds, approvals, compliance lists, idempotency keys
and the audit trail. Workflows live in `orders.services`; these are data and invariants."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Product
from customers.models import Customer, DemandClass
from oms.kernel.money import CurrencyField, MoneyField
from partners.models import Channel

from .states import HoldScope, LineStatus, OrderStatus

QUANTITY = {"max_digits": 14, "decimal_places": 4}
ORDER_NUMBER_PREFIX = "SO-"


class OrderNumber(models.Model):
    """SQLite's stand-in for the PostgreSQL sequence `orders_order_number_seq`: an insert-only
    table whose rowid is the next number (no counter row to serialize captures on)."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        db_table = "orders_order_number"

    def __str__(self) -> str:
        return str(self.pk)


class ShortagePolicy(models.TextChoices):
    REJECT = "reject", "All or nothing (reject the order)"
    BACKORDER = "backorder", "Back-order what is short"


class CompliancePolicy(models.TextChoices):
    HOLD = "hold", "Compliance hold for review"
    REJECT = "reject", "Reject the order"


class ChannelOrderPolicy(models.Model):
    """How capture treats a channel's orders beyond what the channel row says (partners sits
    below us, so the order-specific policy lives here)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="order_policy")
    shortage_policy = models.CharField(
        max_length=10, choices=ShortagePolicy.choices, default=ShortagePolicy.BACKORDER
    )
    restricted_party_policy = models.CharField(
        max_length=10, choices=CompliancePolicy.choices, default=CompliancePolicy.HOLD
    )

    class Meta:
        verbose_name_plural = "channel order policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(shortage_policy__in=ShortagePolicy.values), name="order_policy_shortage_valid"
            ),
            models.CheckConstraint(
                condition=Q(restricted_party_policy__in=CompliancePolicy.values),
                name="order_policy_compliance_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.shortage_policy}"


class SalesOrder(models.Model):
    """One revision of a source order. A higher revision supersedes the current one (same
    number); superseded revisions stay readable with `is_current=False`."""

    number = models.CharField(max_length=30, db_index=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    source_order_id = models.CharField(max_length=64)
    revision = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    customer_po = models.CharField("customer PO number", max_length=64, blank=True, default="")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    bill_to = models.JSONField(default=dict)
    ship_to = models.JSONField(default=dict)
    currency = CurrencyField()
    payment_terms = models.CharField(max_length=15, blank=True, default="")
    ship_method = models.CharField(max_length=40, blank=True, default="")
    requested_delivery_date = models.DateField(null=True, blank=True)
    demand_class = models.CharField(max_length=10, choices=DemandClass.choices, default=DemandClass.STANDARD)
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(default=5, help_text="1 = most urgent")
    notes = models.TextField(blank=True, default="")
    subtotal = MoneyField()
    discount_total = MoneyField()
    shipping_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    # The total in the customer's credit currency when it was added to the credit exposure.
    credit_amount = MoneyField()
    credit_currency = CurrencyField(blank=True, default="")
    approval_reasons = models.JSONField(default=list, blank=True)
    # Web orders: the landing page and marketing campaign they came from (reporting ranks them).
    source_page = models.CharField(max_length=500, blank=True, default="")
    campaign = models.CharField(max_length=100, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("approve_salesorder", "Can approve or reject sales orders")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="salesorder_status_valid"
            ),
            models.CheckConstraint(condition=Q(revision__gte=1), name="salesorder_revision_positive"),
            models.UniqueConstraint(
                fields=["channel", "source_order_id", "revision"], name="salesorder_source_revision_unique"
            ),
            models.UniqueConstraint(fields=["number", "revision"], name="salesorder_number_revision_unique"),
            models.UniqueConstraint(
                fields=["channel", "source_order_id"],
                condition=Q(is_current=True),
                name="salesorder_one_current_revision",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "status", "id"], name="salesorder_channel_status"),
            models.Index(fields=["customer", "id"], name="salesorder_customer"),
            models.Index(fields=["created_at"], name="salesorder_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number} r{self.revision}"


class OrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    source_line_id = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QUANTITY)
    uom = models.CharField("UOM", max_length=10)
    ship_to = models.JSONField(null=True, blank=True, help_text="Overrides the order's ship-to.")
    requested_ship_date = models.DateField(null=True, blank=True)
    ship_method = models.CharField(max_length=40, blank=True, default="")
    unit_list_price = MoneyField()
    unit_net_price = MoneyField()
    price_breakdown = models.JSONField(default=dict, blank=True)
    price_source = models.CharField(max_length=10, default="engine", help_text="engine | source")
    line_total = MoneyField()
    status = models.CharField(max_length=20, choices=LineStatus.choices, default=LineStatus.DRAFT)
    shipped_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    billed_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    warehouse_id = models.BigIntegerField(
        null=True, blank=True, help_text="Where it is reserved (inventory id)."
    )
    backordered_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=LineStatus.values), name="orderline_status_valid"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=0) & Q(shipped_quantity__lte=F("quantity")),
                name="orderline_shipped_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(billed_quantity__gte=0) & Q(billed_quantity__lte=F("quantity")),
                name="orderline_billed_within_quantity",
            ),
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_number_unique"),
            models.UniqueConstraint(fields=["order", "source_line_id"], name="orderline_source_line_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number}"


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    STATUS_CHANGED = "status_changed", "Status changed"
    HOLD_APPLIED = "hold_applied", "Hold applied"
    HOLD_RELEASED = "hold_released", "Hold released"
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVISED = "revised", "Revised"
    SUPERSEDED = "superseded", "Superseded"
    CANCELED = "canceled", "Canceled"
    LINE_CANCELED = "line_canceled", "Line canceled"
    PRICE_OVERRIDE = "price_override", "Price override"
    BACKORDERED = "backordered", "Back-ordered"


class OrderEvent(models.Model):
    """The audit trail: who (user, channel or system), when, what, before/after, correlation id."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="events")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.CharField(max_length=120, help_text="user:<name>, channel:<code> or system")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="orderevent_kind_valid"),
        ]
        indexes = [models.Index(fields=["order", "id"], name="orderevent_by_order")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} by {self.actor}"


class HoldCode(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=120)
    stops = models.CharField(max_length=12, choices=HoldScope.choices, default=HoldScope.ALL)
    is_system = models.BooleanField(default=False, help_text="Applied and released by the system.")
    apply_roles = models.JSONField(
        default=list, blank=True, help_text='Roles that may apply, e.g. ["order_desk"]'
    )
    release_roles = models.JSONField(default=list, blank=True, help_text="Roles that may release")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(stops__in=HoldScope.values), name="holdcode_stops_valid"),
        ]

    def __str__(self) -> str:
        return self.code


CREDIT_HOLD = "credit"
COMPLIANCE_HOLD = "compliance"


class OrderHold(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="holds")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="holds")
    hold_code = models.ForeignKey(HoldCode, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    applied_by = models.CharField(max_length=120)
    applied_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(default=timezone.now)
    released_by = models.CharField(max_length=120, blank=True, default="")
    released_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "hold_code"],
                condition=Q(released_at__isnull=True, line__isnull=True),
                name="orderhold_one_active_per_code",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | ~Q(release_reason=""),
                name="orderhold_release_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hold_code_id} on {self.order_id}"

    @property
    def active(self) -> bool:
        return self.released_at is None


class RestrictedParty(models.Model):
    """A denied/restricted party (admin-maintained): matched on the normalized name."""

    name = models.CharField(max_length=200)
    normalized_name = models.CharField(max_length=200, db_index=True, editable=False)
    country = models.CharField(max_length=2, blank=True, default="")
    source = models.CharField(max_length=120, blank=True, default="", help_text="List it comes from")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "restricted parties"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        from .compliance import normalize_party_name

        self.normalized_name = normalize_party_name(self.name)
        super().save(*args, **kwargs)


class EmbargoedCountry(models.Model):
    country = models.CharField(max_length=2, unique=True, help_text="ISO 3166-1 alpha-2")
    policy = models.CharField(max_length=10, choices=CompliancePolicy.choices, default=CompliancePolicy.HOLD)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["country"]
        verbose_name_plural = "embargoed countries"
        constraints = [
            models.CheckConstraint(
                condition=Q(policy__in=CompliancePolicy.values), name="embargo_policy_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.country


class ApprovalRuleKind(models.TextChoices):
    TOTAL_OVER = "total_over", "Order total over a threshold"
    NEW_CUSTOMER = "new_customer", "New customer (first order)"


class ApprovalRule(models.Model):
    """When an order waits for an approver. A manual price adjustment that pricing flags always
    does (pricing's own thresholds decide that); these rules add the order-level reasons."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=ApprovalRuleKind.choices)
    threshold = MoneyField(null=True, blank=True)
    threshold_currency = CurrencyField(blank=True, default="")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ApprovalRuleKind.values), name="approval_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=ApprovalRuleKind.TOTAL_OVER)
                | (Q(threshold__isnull=False) & ~Q(threshold_currency="")),
                name="approval_rule_total_has_threshold",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DefaultableField(models.TextChoices):
    SHIP_METHOD = "ship_method", "Ship method"
    PRIORITY = "priority", "Priority"
    DEMAND_CLASS = "demand_class", "Demand class"
    NOTES = "notes", "Notes"


class DefaultingRule(models.Model):
    """Admin-defined defaults for what the customer and channel do not decide: the most specific
    active rule (channel + country > channel > country > any) fills a field the order left blank."""

    field = models.CharField(max_length=20, choices=DefaultableField.choices)
    value = models.CharField(max_length=200)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    country = models.CharField(max_length=2, blank=True, default="", help_text="Ship-to country")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["field", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(field__in=DefaultableField.values), name="defaulting_rule_field_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"
    COMPLETED = "completed", "Completed"


class IdempotencyKey(models.Model):
    """A claimed `Idempotency-Key`, scoped to its API principal (a channel, or a staff user).

    Claimed in its own committed transaction with a lease, so a concurrent duplicate sees it in
    flight; completed with the exact response bytes, status and content type for replays."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_FLIGHT
    )
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique_per_principal"),
            models.CheckConstraint(
                condition=Q(status__in=IdempotencyStatus.values), name="idempotency_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry")]

    def __str__(self) -> str:
        return f"{self.principal}:{self.key} ({self.status})"

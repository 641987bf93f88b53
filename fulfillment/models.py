"""Orchestration data: process definitions and steps, assignment rules, fulfillment lines,
process and step instances, shipments, and the fulfillment audit trail. Workflows live in
`fulfillment.services`; these are data and invariants."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Category, Product, ProductType, Supplier
from customers.models import Customer
from inventory.models import PurchaseOrder, Reservation, Warehouse
from orders.models import OrderLine, SalesOrder
from partners.models import Channel, Partner

from .states import (
    Compensation,
    DefinitionStatus,
    FulfillmentLineStatus,
    FulfillmentMode,
    PauseEvent,
    ProcessStatus,
    ShipmentStatus,
    StepStatus,
    TaskType,
)

QUANTITY = {"max_digits": 14, "decimal_places": 4}


class ProcessDefinition(models.Model):
    """One version of an orchestration process. Published versions are frozen: a change is a
    new version, and a running instance keeps the version it started on."""

    code = models.SlugField(max_length=40)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=DefinitionStatus.choices, default=DefinitionStatus.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="process_definition_version_unique"),
            models.CheckConstraint(
                condition=Q(status__in=DefinitionStatus.values), name="process_definition_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version} ({self.status})"


class StepDefinition(models.Model):
    """One step of a process. `branch` makes it conditional on the fulfillment mode decided at
    SCHEDULE; steps without a branch are on every path, so branches merge at the next one."""

    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    branch = models.CharField(
        max_length=20,
        choices=FulfillmentMode.choices,
        blank=True,
        default="",
        help_text="Run only for lines in this fulfillment mode (empty: every mode).",
    )
    lead_time_hours = models.PositiveIntegerField(default=0, help_text="Default planned duration.")
    compensation = models.CharField(max_length=10, choices=Compensation.choices, default=Compensation.NONE)
    pause_offset_hours = models.IntegerField(
        default=0, help_text="PAUSE: hours relative to the scheduled ship date (negative = before)."
    )
    pause_event = models.CharField(max_length=30, choices=PauseEvent.choices, blank=True, default="")
    target_warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="TRANSFER: to"
    )

    class Meta:
        ordering = ["definition", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "sequence"], name="step_definition_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(task_type__in=TaskType.values), name="step_definition_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(compensation__in=Compensation.values), name="step_definition_compensation_valid"
            ),
            models.CheckConstraint(
                condition=Q(branch="") | Q(branch__in=FulfillmentMode.values),
                name="step_definition_branch_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.name}"


class AssignmentRule(models.Model):
    """Which process a line gets: the first active rule (lowest priority number) whose filled-in
    conditions all match; a rule with no conditions is the default."""

    name = models.CharField(max_length=120)
    priority = models.PositiveIntegerField(default=100)
    process_code = models.SlugField(max_length=40, help_text="The latest published version is used.")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    product_type = models.CharField(max_length=10, choices=ProductType.choices, blank=True, default="")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    ship_method = models.CharField(max_length=40, blank=True, default="")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    fulfillment_mode = models.CharField(
        max_length=20, choices=FulfillmentMode.choices, blank=True, default=""
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "pk"]

    def __str__(self) -> str:
        return f"{self.priority}: {self.name} -> {self.process_code}"


class ProductSupply(models.Model):
    """How a product is supplied when no warehouse stock is meant to serve it: drop ship from a
    supplier, or back-to-back (bought for the order, received, then shipped)."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=20, choices=FulfillmentMode.choices, default=FulfillmentMode.WAREHOUSE)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    supplier_warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Drop ship: the supplier's ship-from location.",
    )
    lead_time_days = models.PositiveIntegerField(default=5)

    class Meta:
        verbose_name_plural = "product supply"
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=FulfillmentMode.values), name="product_supply_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.mode}"


class FulfillmentLine(models.Model):
    """A schedulable slice of an order line. Split when it ships partially or is sourced from
    several places; it follows its source line across revisions (by source line id)."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="+")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    order_number = models.CharField(max_length=30, db_index=True)
    source_line_id = models.CharField(max_length=64)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QUANTITY)
    status = models.CharField(
        max_length=20,
        choices=FulfillmentLineStatus.choices,
        default=FulfillmentLineStatus.AWAITING_SCHEDULING,
    )
    mode = models.CharField(max_length=20, choices=FulfillmentMode.choices, default=FulfillmentMode.WAREHOUSE)
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scheduled_ship_date = models.DateField(null=True, blank=True)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="splits"
    )
    shipped_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    billed_quantity = models.DecimalField(**QUANTITY, default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_number", "source_line_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FulfillmentLineStatus.values), name="fulfillment_line_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(mode__in=FulfillmentMode.values), name="fulfillment_line_mode_valid"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fulfillment_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=0) & Q(shipped_quantity__lte=F("quantity")),
                name="fulfillment_line_shipped_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(billed_quantity__gte=0) & Q(billed_quantity__lte=F("shipped_quantity")),
                name="fulfillment_line_billed_within_shipped",
            ),
        ]
        indexes = [models.Index(fields=["order_line"], name="fulfillment_line_by_order_line")]

    def __str__(self) -> str:
        return f"FL{self.pk} {self.order_number}/{self.source_line_id} x{self.quantity} ({self.status})"


class ProcessInstance(models.Model):
    """One run of a process definition for one fulfillment line; it keeps its definition
    version to the end, whatever is published meanwhile."""

    fulfillment_line = models.OneToOneField(FulfillmentLine, on_delete=models.CASCADE, related_name="process")
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="instances")
    status = models.CharField(max_length=20, choices=ProcessStatus.choices, default=ProcessStatus.RUNNING)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ProcessStatus.values), name="process_instance_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"process {self.pk} ({self.definition}) {self.status}"


class StepInstance(models.Model):
    process = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="steps")
    step_definition = models.ForeignKey(StepDefinition, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # Waiting steps: when the beat scan wakes them, and what they wait for.
    wake_at = models.DateTimeField(null=True, blank=True)
    awaited_event = models.CharField(max_length=40, blank=True, default="")
    # Running steps: when a task was last sent (the sweeper re-sends stale ones) and, after a
    # failure, the earliest moment of the next attempt.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every redo so a side effect's key differs from the undone one's.
    generation = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["process", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["process", "sequence"], name="step_instance_sequence_unique"),
            models.CheckConstraint(
                condition=Q(status__in=StepStatus.values), name="step_instance_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="waiting") | Q(wake_at__isnull=False),
                name="step_instance_waiting_has_wake_at",
            ),
        ]
        indexes = [
            models.Index(fields=["wake_at"], condition=Q(status="waiting"), name="step_instance_due_wake"),
            models.Index(
                fields=["dispatched_at"], condition=Q(status="running"), name="step_instance_running"
            ),
            models.Index(
                fields=["status"], condition=Q(status__in=["held", "failed"]), name="step_instance_stopped"
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.pk} {self.task_type} ({self.status})"

    @property
    def side_effect_key(self) -> str:
        return f"step:{self.pk}:{self.generation}"


class Shipment(models.Model):
    number = models.CharField(max_length=30, unique=True)
    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="+")
    order_number = models.CharField(max_length=30, db_index=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ShipmentStatus.choices, default=ShipmentStatus.REQUESTED)
    carrier = models.CharField(max_length=60, blank=True, default="")
    service = models.CharField(max_length=60, blank=True, default="")
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    # The step run (or split) that created this request: a redelivered task finds it, not a twin.
    request_key = models.CharField(max_length=80, unique=True)
    requested_at = models.DateTimeField(default=timezone.now)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values), name="shipment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    fulfillment_line = models.ForeignKey(
        FulfillmentLine, on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity_requested = models.DecimalField(**QUANTITY)
    quantity_shipped = models.DecimalField(**QUANTITY, default=Decimal("0"))

    class Meta:
        ordering = ["shipment", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_requested__gt=0), name="shipment_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_shipped__gte=0) & Q(quantity_shipped__lte=F("quantity_requested")),
                name="shipment_line_shipped_within_requested",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}: FL{self.fulfillment_line_id} x{self.quantity_requested}"


class ShipmentAdvice(models.Model):
    """An inbound advice from a warehouse, 3PL or supplier, kept so a resend changes nothing."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    advice_id = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, default="shipment")
    request_hash = models.CharField(max_length=64)
    response = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "advice_id"], name="shipment_advice_once_per_partner"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.advice_id}"


class FulfillmentEvent(models.Model):
    """The fulfillment audit trail: step runs, holds, failures, staff actions, compensations."""

    order_number = models.CharField(max_length=30, db_index=True)
    fulfillment_line = models.ForeignKey(
        FulfillmentLine, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    process = models.ForeignKey(
        ProcessInstance, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    step = models.ForeignKey(StepInstance, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=40)
    actor = models.CharField(max_length=120, default="system")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.order_number} {self.kind}"


class CustomerNotification(models.Model):
    """One customer email per (kind, reference): a redelivered event does not mail twice."""

    kind = models.CharField(max_length=30)
    reference = models.CharField(max_length=80)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="customer_notification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} -> {self.recipient}"


from .cost_rules import ChangeCostPolicy, ChangeCostRule  # noqa: E402, F401  (cost-of-change data)

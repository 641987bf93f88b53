"""Orchestration data: process definitions and steps, assignment rules, fulfillment lines,
process and step instances, shipments, and the fulfillment audit trail. Workflows live in
`fulfillment.services`; these are data and invariants."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Category, Product, ProductType, Supplier
from customers.models import Customer
from inventory.models import PurchaseOrder, Reservation, Warehouse
from orders.models import OrderLine, SalesOrder
from partners.models import Channel, Partner

from .states import (
    DELAY_UNIT_HOURS,
    AlertResolution,
    Compensation,
    DefinitionStatus,
    DelayUnit,
    FulfillmentLineStatus,
    FulfillmentMode,
    JeopardyAlertStatus,
    JeopardyPriority,
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
    # The delivery date promised to the customer when the line was scheduled (planning falls
    # back on it when the order has no requested delivery date).
    promised_date = models.DateField(null=True, blank=True)
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
    # A what-if chose this slice's mode and ship-from location: SCHEDULE keeps them.
    source_pinned = models.BooleanField(default=False)
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
    # --- the plan (fulfillment.services.planning) ---
    # When the goods must leave (the line's required date minus transit, at the cut-off), and
    # the required end of the last step (backward/forward from it over the business calendar).
    required_ship_by = models.DateTimeField(null=True, blank=True)
    required_end = models.DateTimeField(null=True, blank=True)
    # Planned end of the last step when the plan was made, the step running at that moment and
    # its planned end: the scan pushes `expected_end` by the time that step overruns, in SQL.
    plan_end = models.DateTimeField(null=True, blank=True)
    current_step = models.ForeignKey(
        "StepInstance", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    current_step_due = models.DateTimeField(null=True, blank=True)
    # The current step's type, kept here so the scan picks its policy without reading the steps.
    current_task_type = models.CharField(max_length=30, blank=True, default="")
    expected_end = models.DateTimeField(null=True, blank=True, help_text="Expected completion of the line.")
    planned_at = models.DateTimeField(null=True, blank=True)
    # --- jeopardy (kept current by the scan, fulfillment.services.jeopardy) ---
    jeopardy_delay_hours = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Expected minus required (hours)."
    )
    jeopardy_score = models.PositiveIntegerField(default=0)
    jeopardy_priority = models.CharField(
        max_length=10, choices=JeopardyPriority.choices, default=JeopardyPriority.ON_TIME
    )
    jeopardy_reason = models.CharField(max_length=500, blank=True, default="")
    jeopardy_changed_at = models.DateTimeField(null=True, blank=True)
    # Set by every replan, cleared by the scan: the incremental scan reads only these rows and
    # the ones whose current step overran.
    jeopardy_dirty = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ProcessStatus.values), name="process_instance_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(jeopardy_priority__in=JeopardyPriority.values),
                name="process_instance_jeopardy_priority_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["jeopardy_dirty"],
                condition=Q(jeopardy_dirty=True, status__in=["running", "change_pending", "needs_attention"]),
                name="process_jeopardy_dirty",
            ),
            models.Index(
                fields=["current_step_due"],
                condition=Q(status__in=["running", "change_pending", "needs_attention"]),
                name="process_current_step_due",
            ),
            models.Index(
                fields=["jeopardy_priority", "jeopardy_score"],
                condition=~Q(jeopardy_priority="on_time"),
                name="process_in_jeopardy",
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
    # Latest end that still meets the line's required date (backward over the calendar).
    required_end = models.DateTimeField(null=True, blank=True)
    jeopardy_delay_hours = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Expected minus required (hours)."
    )
    jeopardy_score = models.PositiveIntegerField(default=0)
    jeopardy_priority = models.CharField(
        max_length=10, choices=JeopardyPriority.choices, default=JeopardyPriority.ON_TIME
    )
    jeopardy_reason = models.CharField(max_length=500, blank=True, default="")
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
            models.CheckConstraint(
                condition=Q(jeopardy_priority__in=JeopardyPriority.values),
                name="step_instance_jeopardy_priority_valid",
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


# --- planning calendar and jeopardy ---------------------------------------------------------


class Holiday(models.Model):
    """A day no lead time counts on: for one warehouse, or for every warehouse (blank)."""

    date = models.DateField()
    name = models.CharField(max_length=120)
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: a holiday for every warehouse.",
    )

    class Meta:
        ordering = ["date", "warehouse"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "warehouse"],
                name="holiday_once_per_warehouse",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class JeopardyPolicy(models.Model):
    """Thresholds (delay -> score) and priority ranges (score -> priority) for the processes of
    one definition code and the steps of one type. The most specific active policy wins:
    (code, type), then (code, any type), then (any code, type), then the default (any, any)."""

    name = models.CharField(max_length=120)
    process_code = models.SlugField(max_length=40, blank=True, default="", help_text="Empty: any process.")
    task_type = models.CharField(
        max_length=30, choices=TaskType.choices, blank=True, default="", help_text="Empty: any step type."
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "jeopardy policies"
        ordering = ["process_code", "task_type", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["process_code", "task_type"],
                condition=Q(active=True),
                name="jeopardy_policy_one_active_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(task_type="") | Q(task_type__in=TaskType.values),
                name="jeopardy_policy_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.process_code or 'any process'} / {self.task_type or 'any step'})"

    @property
    def is_default(self) -> bool:
        return not self.process_code and not self.task_type


class JeopardyThreshold(models.Model):
    """A delay of at least `min_delay` (in its unit) scores `score`; the largest threshold
    reached applies, none reached scores 0."""

    policy = models.ForeignKey(JeopardyPolicy, on_delete=models.CASCADE, related_name="thresholds")
    min_delay = models.DecimalField(max_digits=10, decimal_places=2)
    unit = models.CharField(max_length=5, choices=DelayUnit.choices, default=DelayUnit.HOURS)
    # `min_delay` in hours, kept by save() so the scan compares in SQL.
    min_delay_hours = models.DecimalField(max_digits=12, decimal_places=2, editable=False)
    score = models.PositiveIntegerField()

    class Meta:
        ordering = ["policy", "min_delay_hours"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "min_delay_hours"], name="jeopardy_threshold_delay_unique"
            ),
            models.CheckConstraint(
                condition=Q(unit__in=DelayUnit.values), name="jeopardy_threshold_unit_valid"
            ),
        ]

    def __str__(self) -> str:
        return f">= {self.min_delay} {self.unit}: {self.score}"

    def save(self, *args, **kwargs):
        self.min_delay_hours = self.hours()
        super().save(*args, **kwargs)

    def hours(self) -> Decimal:
        return Decimal(self.min_delay or 0) * DELAY_UNIT_HOURS[self.unit]


class JeopardyPriorityRange(models.Model):
    """Scores from `min_score` to `max_score` (both included) mean `priority`. A policy's
    ranges start at 0 and follow each other with no gap or overlap; the last one may be
    open-ended (max_score empty)."""

    policy = models.ForeignKey(JeopardyPolicy, on_delete=models.CASCADE, related_name="priority_ranges")
    priority = models.CharField(max_length=10, choices=JeopardyPriority.choices)
    min_score = models.PositiveIntegerField()
    max_score = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no upper bound.")

    class Meta:
        ordering = ["policy", "min_score"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="jeopardy_range_priority_unique"),
            models.CheckConstraint(
                condition=Q(priority__in=JeopardyPriority.values), name="jeopardy_range_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(max_score__isnull=True) | Q(max_score__gte=F("min_score")),
                name="jeopardy_range_bounds_ordered",
            ),
        ]

    def __str__(self) -> str:
        top = "" if self.max_score is None else self.max_score
        return f"{self.get_priority_display()}: {self.min_score}..{top}"

    def clean(self) -> None:
        if self.max_score is not None and self.min_score is not None and self.max_score < self.min_score:
            raise ValidationError({"max_score": "The upper bound is below the lower bound."})


class JeopardyAlert(models.Model):
    """Raised by the scan when a process's priority rises; one unresolved alert per process.
    Staff acknowledge, assign and resolve it (with a note); the scan resolves it by itself when
    the priority falls back, and supersedes it when the priority rises further."""

    process = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="alerts")
    fulfillment_line = models.ForeignKey(FulfillmentLine, on_delete=models.CASCADE, related_name="+")
    step = models.ForeignKey(StepInstance, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="+")
    order_number = models.CharField(max_length=30, db_index=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    priority = models.CharField(max_length=10, choices=JeopardyPriority.choices)
    score = models.PositiveIntegerField()
    delay_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=500)
    role = models.CharField(max_length=20, help_text="The staff role that answers for the step.")
    status = models.CharField(
        max_length=15, choices=JeopardyAlertStatus.choices, default=JeopardyAlertStatus.OPEN
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=15, choices=AlertResolution.choices, blank=True, default="")
    note = models.TextField(blank=True, default="")
    scan = models.ForeignKey(
        "JeopardyScan", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JeopardyAlertStatus.values), name="jeopardy_alert_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=JeopardyPriority.values) & ~Q(priority="on_time"),
                name="jeopardy_alert_priority_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolution__in=AlertResolution.values), name="jeopardy_alert_resolution_valid"
            ),
            # Two scans at once (two beat instances): the second insert of the same alert
            # conflicts and is skipped (ON CONFLICT DO NOTHING).
            models.UniqueConstraint(
                fields=["process"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="jeopardy_alert_one_unresolved_per_process",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "priority"], name="jeopardy_alert_queue"),
            models.Index(fields=["channel", "status"], name="jeopardy_alert_channel"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.order_number} {self.priority} ({self.status})"


class JeopardyScan(models.Model):
    """One run of the jeopardy scan, written in the scan's own transaction (a scan that dies
    leaves no row and no half-written figures)."""

    kind = models.CharField(max_length=12, default="incremental", help_text="full | incremental")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    processes_changed = models.PositiveIntegerField(default=0)
    steps_changed = models.PositiveIntegerField(default=0)
    alerts_raised = models.PositiveIntegerField(default=0)
    alerts_resolved = models.PositiveIntegerField(default=0)
    orders_changed = models.PositiveIntegerField(default=0)
    digests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"scan {self.pk} {self.kind} {self.started_at:%Y-%m-%d %H:%M}"


from .cost_rules import ChangeCostPolicy, ChangeCostRule  # noqa: E402, F401  (cost-of-change data)
from .promising.models import (  # noqa: E402, F401  (promising data)
    CapacityUsage,
    FacilityCapacity,
    LinePromise,
    SourcingRule,
    SourcingRuleSource,
)

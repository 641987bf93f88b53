"""Customer accounts (B2B accounts and storefront consumers), their sites, contacts and credit.

Credit exposure is pushed down to this app: orders (open orders) and billing (unpaid invoices)
keep `CreditExposure` current through `customers.services.credit_exposure_adjust`, so the credit
check never has to reach leftwards into their tables.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Lower, Upper
from django.db.models.lookups import Exact

from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import CurrencyField, MoneyField, validate_currency

from .states import LeadStage


class CustomerKind(models.TextChoices):
    B2B = "b2b", "Business account"
    CONSUMER = "consumer", "Storefront consumer"


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"  # new orders go on credit hold until released
    INACTIVE = "inactive", "Inactive"


class DemandClass(models.TextChoices):
    """Oracle's demand class: who gets scarce stock first when allocation has to choose."""

    STANDARD = "standard", "Standard"
    PRIORITY = "priority", "Priority"
    STRATEGIC = "strategic", "Strategic"


class PaymentTerms(models.TextChoices):
    PREPAID = "PREPAID", "Prepaid"
    DUE_ON_RECEIPT = "DUE_ON_RECEIPT", "Due on receipt"
    NET15 = "NET15", "Net 15"
    NET30 = "NET30", "Net 30"
    NET45 = "NET45", "Net 45"
    NET60 = "NET60", "Net 60"


def _iso2_country(field: str) -> models.Q:
    return Q(Exact(Length(field), 2)) & Q(Exact(Upper(field), F(field)))


class Customer(models.Model):
    kind = models.CharField(max_length=10, choices=CustomerKind.choices, default=CustomerKind.B2B)
    account_number = models.CharField(
        max_length=30, unique=True, null=True, blank=True, help_text="Required for business accounts."
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    status = models.CharField(max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    demand_class = models.CharField(max_length=10, choices=DemandClass.choices, default=DemandClass.STANDARD)
    credit_limit = MoneyField(
        validators=[MinValueValidator(Decimal("0"))],
        help_text="In the credit currency; 0 means no credit (prepay).",
    )
    credit_currency = CurrencyField(default="USD")
    payment_terms = models.CharField(max_length=15, choices=PaymentTerms.choices, default=PaymentTerms.NET30)
    tax_exempt = models.BooleanField(default=False)
    # A storefront consumer belongs to the channel that captured them (matched by channel + email).
    channel = models.ForeignKey(
        "partners.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CustomerKind.values), name="customer_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=CustomerStatus.values), name="customer_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(demand_class__in=DemandClass.values), name="customer_demand_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(payment_terms__in=PaymentTerms.values), name="customer_payment_terms_valid"
            ),
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind=CustomerKind.CONSUMER) | Q(account_number__isnull=False),
                name="customer_b2b_has_account_number",
            ),
            models.CheckConstraint(
                condition=Q(kind=CustomerKind.B2B) | ~Q(email=""), name="customer_consumer_has_email"
            ),
            # A storefront consumer is identified by e-mail (case-insensitively); business
            # accounts may share an accounts-payable address.
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(kind=CustomerKind.CONSUMER, channel__isnull=True),
                name="customer_consumer_email_unique",
            ),
            # Each storefront has its own consumers: one per (channel, email), so concurrent
            # first orders by the same shopper cannot create two.
            models.UniqueConstraint(
                "channel",
                Lower("email"),
                condition=Q(kind=CustomerKind.CONSUMER, channel__isnull=False),
                name="customer_consumer_channel_email_unique",
            ),
        ]
        indexes = [models.Index(fields=["status", "demand_class"], name="customer_status_demand")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})" if self.account_number else self.name

    def clean(self) -> None:
        # A blank account number must be NULL, or the unique index lets only one consumer in.
        self.account_number = (self.account_number or "").strip().upper() or None
        self.email = (self.email or "").strip()
        try:
            self.credit_currency = validate_currency(self.credit_currency)
        except ValidationFailed as exc:
            raise ValidationError({"credit_currency": exc.message}) from exc
        if self.kind == CustomerKind.B2B and not self.account_number:
            raise ValidationError({"account_number": "A business account needs an account number."})
        if self.kind == CustomerKind.CONSUMER and not self.email:
            raise ValidationError({"email": "A consumer needs an e-mail address."})


class SitePurpose(models.TextChoices):
    BILL_TO = "bill_to", "Bill to"
    SHIP_TO = "ship_to", "Ship to"
    BOTH = "both", "Bill and ship to"


class CustomerSite(models.Model):
    """An address the customer buys at: where invoices go (bill-to) and goods go (ship-to)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=120, blank=True, default="", help_text="e.g. 'Main warehouse'")
    purpose = models.CharField(max_length=10, choices=SitePurpose.choices, default=SitePurpose.BOTH)
    is_primary = models.BooleanField(default=False)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True, default="")
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, default="", help_text="State, province, prefecture")
    postcode = models.CharField(max_length=20, blank=True, default="")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["customer", "-is_primary", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=SitePurpose.values), name="site_purpose_valid"),
            models.CheckConstraint(condition=_iso2_country("country"), name="site_country_iso2"),
            models.UniqueConstraint(
                fields=["customer", "purpose"],
                condition=Q(is_primary=True),
                name="site_one_primary_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city} {self.country} ({self.get_purpose_display()})"


class ContactRole(models.TextChoices):
    PURCHASING = "purchasing", "Purchasing"
    ACCOUNTS_PAYABLE = "accounts_payable", "Accounts payable"
    RECEIVING = "receiving", "Receiving"
    OWNER = "owner", "Owner"
    OTHER = "other", "Other"


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.PURCHASING)

    class Meta:
        ordering = ["customer", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=ContactRole.values), name="contact_role_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class CreditExposure(models.Model):
    """What the customer owes or has committed, in the credit currency.

    Changed only by `credit_exposure_adjust` (one conditional UPDATE), never read-modify-write.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="credit_exposure", primary_key=True
    )
    currency = CurrencyField()
    open_orders_amount = MoneyField()
    open_receivables_amount = MoneyField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(open_orders_amount__gte=0), name="credit_exposure_open_orders_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(open_receivables_amount__gte=0),
                name="credit_exposure_receivables_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.open_orders_amount + self.open_receivables_amount} {self.currency}"


# --- relationship management: leads, their history, and interactions with follow-ups ---------------


class LeadSource(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    WEB_FORM = "web_form", "Web form (API)"
    IMPORT = "import", "Imported file"
    REFERRAL = "referral", "Referral"
    TRADE_SHOW = "trade_show", "Trade show"


class Lead(models.Model):
    """A prospect on its way to an account: who, what they want, what it may be worth, who owns it."""

    company = models.CharField(max_length=200, blank=True, default="")
    contact_name = models.CharField(max_length=120)
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
    city = models.CharField(max_length=100, blank=True, default="")
    address_line1 = models.CharField(max_length=200, blank=True, default="")
    postcode = models.CharField(max_length=20, blank=True, default="")
    interest = models.TextField(blank=True, default="", help_text="What they asked about.")
    estimated_value = MoneyField(
        null=True, blank=True, default=None, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = CurrencyField(default="USD")
    source = models.CharField(max_length=12, choices=LeadSource.choices, default=LeadSource.STAFF)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage = models.CharField(max_length=10, choices=LeadStage.choices, default=LeadStage.NEW)
    lost_reason = models.CharField(max_length=300, blank=True, default="")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="leads",
        help_text="The account the lead became (set on conversion).",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    stage_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=LeadStage.values), name="lead_stage_valid"),
            models.CheckConstraint(condition=Q(source__in=LeadSource.values), name="lead_source_valid"),
            models.CheckConstraint(
                condition=~Q(stage=LeadStage.LOST) | ~Q(lost_reason=""), name="lead_lost_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(stage=LeadStage.WON) | Q(customer__isnull=False), name="lead_won_has_customer"
            ),
            models.CheckConstraint(
                condition=Q(estimated_value__isnull=True) | Q(estimated_value__gte=0),
                name="lead_value_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["stage", "owner"], name="lead_stage_owner")]

    def __str__(self) -> str:
        return f"{self.company or self.contact_name} (lead {self.pk})"

    @property
    def display_name(self) -> str:
        return self.company or self.contact_name

    def clean(self) -> None:
        # A lead is somebody to call back: it needs a way to reach them.
        if not (self.email or "").strip() and not (self.phone or "").strip():
            raise ValidationError({"email": "Give an e-mail address or a phone number."})
        self.country = (self.country or "").strip().upper()
        if self.country and (len(self.country) != 2 or not self.country.isalpha()):
            raise ValidationError({"country": "Two letters (ISO 3166-1 alpha-2)."})


class LeadEvent(models.Model):
    """The lead's history: every stage change, assignment and its conversion, never edited."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20)
    before = models.CharField(max_length=20, blank=True, default="")
    after = models.CharField(max_length=20, blank=True, default="")
    note = models.CharField(max_length=300, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.before}->{self.after}"


class InteractionKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"
    VISIT = "visit", "Visit"
    NOTE = "note", "Note"


class Interaction(models.Model):
    """A call, e-mail, visit or note with a customer or a lead, and the follow-up it asks for."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="interactions"
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="interactions"
    )
    kind = models.CharField(max_length=10, choices=InteractionKind.choices)
    subject = models.CharField(max_length=200)
    outcome = models.CharField(max_length=300, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    follow_up_on = models.DateField(null=True, blank=True)
    follow_up_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    follow_up_done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=InteractionKind.values), name="interaction_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | Q(lead__isnull=False), name="interaction_has_party"
            ),
            models.CheckConstraint(
                condition=Q(follow_up_on__isnull=False) | Q(follow_up_owner__isnull=True),
                name="interaction_owner_needs_date",
            ),
        ]
        indexes = [
            # "my follow-ups today" and the dashboard's overdue count read open follow-ups by date.
            models.Index(
                fields=["follow_up_owner", "follow_up_on"],
                condition=Q(follow_up_on__isnull=False, follow_up_done_at__isnull=True),
                name="interaction_open_follow_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

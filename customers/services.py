"""Writes for customers, and the credit exposure that orders and billing push down to us."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from oms.kernel.exceptions import Conflict, IllegalTransition, NotFound, ValidationFailed
from oms.kernel.money import to_decimal, validate_currency
from oms.kernel.states import ensure_transition

from .models import (
    Contact,
    CreditExposure,
    Customer,
    CustomerKind,
    CustomerSite,
    Interaction,
    InteractionKind,
    Lead,
    LeadEvent,
    LeadSource,
)
from .states import LEAD_TRANSITIONS, LeadStage


def customer_create(*, name: str, kind: str = CustomerKind.B2B, **fields: Any) -> Customer:
    with transaction.atomic():
        customer = Customer(name=name.strip(), kind=kind, **fields)
        try:
            customer.full_clean()
        except ValidationError as exc:
            raise ValidationFailed("The customer is not valid.", fields=exc.message_dict) from exc
        customer.save()
        CreditExposure.objects.create(customer=customer, currency=customer.credit_currency)
        return customer


def _exposure_ensure(*, customer_id: int) -> None:
    """Create the customer's exposure row if missing, safe against a concurrent creator.

    get_or_create inserts inside a savepoint and, on a unique violation from a racing insert,
    reads the winner's row instead; both callers then update the same row.
    """
    if CreditExposure.objects.filter(customer_id=customer_id).exists():
        return
    currency = Customer.objects.filter(pk=customer_id).values_list("credit_currency", flat=True).first()
    if currency is None:
        raise NotFound("No such customer.")
    CreditExposure.objects.get_or_create(customer_id=customer_id, defaults={"currency": currency})


def credit_exposure_adjust(
    *,
    customer_id: int,
    open_orders_delta: Decimal = Decimal(0),
    open_receivables_delta: Decimal = Decimal(0),
) -> CreditExposure:
    """Add the deltas (in the customer's credit currency) to the open amounts.

    One conditional UPDATE ... RETURNING, so concurrent captures, cancellations and invoice
    postings add up exactly without locking the row for longer than the statement, and the row
    comes back without a second read. The WHERE clause refuses a release that would take an
    amount below zero (a caller releasing what it never added is a bug worth a 409, not a
    silently negative exposure). Only when the UPDATE finds no row is the row looked for: a
    customer's first adjustment creates it (safe against a concurrent creator) and updates again.
    A refusal writes nothing, so no savepoint is needed around it.
    """
    orders = to_decimal(open_orders_delta)
    receivables = to_decimal(open_receivables_delta)
    if not (orders or receivables):
        _exposure_ensure(customer_id=customer_id)
        return CreditExposure.objects.get(customer_id=customer_id)
    exposure = _exposure_add(customer_id, orders, receivables)
    if exposure is None:
        # No row yet (or one a concurrent first adjustment has just created), or a refused
        # release: with the row surely there, the second answer is the one that counts.
        _exposure_ensure(customer_id=customer_id)
        exposure = _exposure_add(customer_id, orders, receivables)
    if exposure is None:
        raise Conflict(
            "The release is larger than the open exposure.",
            customer_id=customer_id,
            open_orders_delta=str(orders),
            open_receivables_delta=str(receivables),
        )
    return exposure


def _exposure_add(customer_id: int, orders: Decimal, receivables: Decimal) -> CreditExposure | None:
    table = CreditExposure._meta.db_table
    conditions = ["customer_id = %s"]
    params: list = [
        orders,
        receivables,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        customer_id,
    ]
    if orders < 0:
        conditions.append("open_orders_amount >= %s")
        params.append(-orders)
    if receivables < 0:
        conditions.append("open_receivables_amount >= %s")
        params.append(-receivables)
    # raw() maps the returned row onto the model with the backend's converters (Decimal, aware
    # datetime) on PostgreSQL and SQLite alike. ROUND to the column's places: SQLite adds in binary
    # floating point, and a sum like 33.33 - 11.11 - 11.11 left just below 11.11 would refuse the
    # last release of an order invoiced in parts (a no-op on PostgreSQL's exact numeric).
    places = CreditExposure._meta.get_field("open_orders_amount").decimal_places
    rows = list(
        CreditExposure.objects.raw(
            f"UPDATE {table} SET open_orders_amount = ROUND(open_orders_amount + %s, {places}), "  # noqa: S608
            f"open_receivables_amount = ROUND(open_receivables_amount + %s, {places}), updated_at = %s "
            f"WHERE {' AND '.join(conditions)} "
            "RETURNING customer_id, currency, open_orders_amount, open_receivables_amount, updated_at",
            params,
        )
    )
    return rows[0] if rows else None


# --- leads and interactions ---------------------------------------------------------------------------


class PossibleDuplicate(Conflict):
    code = "possible_duplicate"


def _lead_event(lead: Lead, action: str, *, user=None, label: str = "", before: str = "", after: str = "",
                note: str = "") -> None:  # fmt: skip
    LeadEvent.objects.create(
        lead=lead, action=action, before=before, after=after, note=note[:300],
        actor=user if getattr(user, "pk", None) else None,
        actor_label=label or (user.get_username() if getattr(user, "pk", None) else "system"),
    )  # fmt: skip


def _full_clean(obj, message: str) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(message, fields=exc.message_dict) from exc


def lead_create(*, user=None, actor_label: str = "", source: str = LeadSource.STAFF, **fields: Any) -> Lead:
    """Capture a lead (staff, the web-form API or an import). A lead needs someone to call back:
    a contact name and an e-mail address or a phone number."""
    with transaction.atomic():
        for name in ("company", "contact_name", "email", "phone", "city", "address_line1", "postcode"):
            if isinstance(fields.get(name), str):
                fields[name] = fields[name].strip()
        fields["country"] = (fields.get("country") or "").strip().upper()
        lead = Lead(source=source, **fields)
        try:
            lead.currency = validate_currency(lead.currency)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, fields={"currency": [exc.message]}) from exc
        _full_clean(lead, "The lead is not valid.")
        lead.stage_changed_at = timezone.now()
        lead.save()
        _lead_event(
            lead, "created", user=user, label=actor_label, after=lead.stage, note=lead.get_source_display()
        )
        return lead


def _lead_locked(lead_id: int) -> Lead:
    lead = Lead.objects.select_for_update(of=("self",)).filter(pk=lead_id).first()
    if lead is None:
        raise NotFound("No such lead.", lead_id=lead_id)
    return lead


def lead_stage_change(*, lead_id: int, to: str, user=None, reason: str = "") -> Lead:
    """Move a lead along the pipeline (the transition table decides); losing one needs a reason."""
    with transaction.atomic():
        lead = _lead_locked(lead_id)
        if to == LeadStage.WON:
            raise IllegalTransition(lead.stage, to, message="A lead is won by converting it into an account.")
        ensure_transition(LEAD_TRANSITIONS, lead.stage, to)
        reason = reason.strip()
        if to == LeadStage.LOST and not reason:
            raise ValidationFailed("Say why the lead was lost.", fields={"reason": ["Required."]})
        before = lead.stage
        lead.stage = to
        lead.lost_reason = reason[:300] if to == LeadStage.LOST else ""
        lead.stage_changed_at = timezone.now()
        lead.save(update_fields=["stage", "lost_reason", "stage_changed_at", "updated_at"])
        _lead_event(lead, "stage_changed", user=user, before=before, after=to, note=reason)
        return lead


def lead_assign(*, lead_id: int, owner_id: int | None, user=None) -> Lead:
    User = get_user_model()
    with transaction.atomic():
        lead = _lead_locked(lead_id)
        owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id else None
        if owner_id and owner is None:
            raise ValidationFailed("No such active user.", fields={"owner": ["Unknown user."]})
        before = lead.owner.get_username() if lead.owner_id else ""
        lead.owner = owner
        lead.save(update_fields=["owner", "updated_at"])
        _lead_event(
            lead,
            "assigned",
            user=user,
            before=before[:20],
            after=(owner.get_username() if owner else "")[:20],
        )
        return lead


def lead_duplicates(lead: Lead) -> list[Customer]:
    """Accounts the lead may already be: the same name (company or contact) or the same e-mail."""
    names = {n.lower() for n in (lead.company, lead.contact_name) if n}
    match = Q(name__iexact=lead.company or lead.contact_name)
    for name in names:
        match |= Q(name__iexact=name)
    if lead.email:
        match |= Q(email__iexact=lead.email) | Q(contacts__email__iexact=lead.email)
    return list(Customer.objects.filter(match).distinct().order_by("name")[:10])


def lead_convert(
    *, lead_id: int, user=None, customer_id: int | None = None, account_number: str = "",
    create_anyway: bool = False,
) -> Lead:  # fmt: skip
    """Win the lead: link it to an existing account (`customer_id`), or create the account with
    its site and contact. An account that looks like the lead (same name or e-mail) is not
    duplicated silently: the conversion is refused naming the candidates, unless `create_anyway`.
    The lead keeps its history and interactions; its interactions now show on the account too."""
    with transaction.atomic():
        lead = _lead_locked(lead_id)
        ensure_transition(LEAD_TRANSITIONS, lead.stage, LeadStage.WON)
        if customer_id:
            customer = Customer.objects.filter(pk=customer_id).first()
            if customer is None:
                raise ValidationFailed("No such customer.", fields={"customer": ["Unknown customer."]})
            note = f"linked to {customer.account_number or customer.name}"
        else:
            candidates = [] if create_anyway else lead_duplicates(lead)
            if candidates:
                raise PossibleDuplicate(
                    "Accounts like this lead exist: link one, or create a new account anyway.",
                    candidates=[
                        {"id": c.pk, "name": c.name, "account_number": c.account_number} for c in candidates
                    ],
                )
            number = (account_number or f"CRM{lead.pk:06d}").strip().upper()
            if Customer.objects.filter(account_number=number).exists():
                raise ValidationFailed(
                    "That account number is taken.", fields={"account_number": [f"{number} exists."]}
                )
            customer = customer_create(
                name=lead.display_name, kind=CustomerKind.B2B, account_number=number, email=lead.email,
                credit_currency=lead.currency, sales_rep=lead.owner,
            )  # fmt: skip
            Contact.objects.create(
                customer=customer, name=lead.contact_name, email=lead.email, phone=lead.phone
            )
            if lead.address_line1 and lead.city and lead.country:
                site = CustomerSite(
                    customer=customer, name="Main", is_primary=True, line1=lead.address_line1,
                    city=lead.city, postcode=lead.postcode, country=lead.country,
                )  # fmt: skip
                _full_clean(site, "The lead's address is not a valid site.")
                site.save()
            note = f"account {customer.account_number} created"
        before = lead.stage
        lead.stage, lead.customer, lead.stage_changed_at = LeadStage.WON, customer, timezone.now()
        lead.save(update_fields=["stage", "customer", "stage_changed_at", "updated_at"])
        Interaction.objects.filter(lead=lead, customer__isnull=True).update(customer=customer)
        _lead_event(lead, "converted", user=user, before=before, after=LeadStage.WON, note=note)
        return lead


def interaction_log(
    *, kind: str, subject: str, user=None, customer_id: int | None = None, lead_id: int | None = None,
    outcome: str = "", notes: str = "", occurred_at=None, follow_up_on=None,
    follow_up_owner_id: int | None = None,
) -> Interaction:  # fmt: skip
    """Record a call, e-mail, visit or note; a follow-up date gives someone (by default the one who
    logged it) a task on their "follow-ups" list."""
    with transaction.atomic():
        if not customer_id and not lead_id:
            raise ValidationFailed(
                "An interaction is with a customer or a lead.", fields={"customer": ["Required."]}
            )
        if customer_id and not Customer.objects.filter(pk=customer_id).exists():
            raise NotFound("No such customer.", customer_id=customer_id)
        lead = Lead.objects.filter(pk=lead_id).first() if lead_id else None
        if lead_id and lead is None:
            raise NotFound("No such lead.", lead_id=lead_id)
        if follow_up_on is not None and follow_up_on < timezone.localdate():
            raise ValidationFailed(
                "A follow-up is for today or later.", fields={"follow_up_on": ["The date is in the past."]}
            )
        owner_id = follow_up_owner_id or (getattr(user, "pk", None) if follow_up_on else None)
        interaction = Interaction(
            kind=kind, subject=(subject or "").strip(), outcome=(outcome or "").strip(), notes=notes or "",
            customer_id=customer_id or (lead.customer_id if lead else None), lead=lead,
            occurred_at=occurred_at or timezone.now(), by=user if getattr(user, "pk", None) else None,
            follow_up_on=follow_up_on, follow_up_owner_id=owner_id,
        )  # fmt: skip
        _full_clean(interaction, "The interaction is not valid.")
        interaction.save()
        return interaction


def follow_up_complete(*, interaction_id: int, user=None, owner_id: int | None = None) -> Interaction:
    """Close a follow-up; with `owner_id`, only that owner's (another's is not found)."""
    with transaction.atomic():
        interaction = Interaction.objects.select_for_update(of=("self",)).filter(pk=interaction_id).first()
        if (
            interaction is None
            or interaction.follow_up_on is None
            or (owner_id is not None and interaction.follow_up_owner_id != owner_id)
        ):
            raise NotFound("No such follow-up.", interaction_id=interaction_id)
        if interaction.follow_up_done_at is None:  # done twice changes nothing twice
            interaction.follow_up_done_at = timezone.now()
            interaction.save(update_fields=["follow_up_done_at"])
        return interaction


def customer_email_send(*, customer_id: int, to: str, subject: str, body: str, user=None) -> Interaction:
    """Send an e-mail to a customer from the staff UI; it is logged as an interaction, and it goes
    out only once the log row is committed (a failed send is logged by the mail backend)."""
    with transaction.atomic():
        to, subject = (to or "").strip(), (subject or "").strip()
        errors = {}
        try:
            validate_email(to)
        except ValidationError:
            errors["to"] = ["Enter a valid e-mail address."]
        if not subject:
            errors["subject"] = ["Required."]
        if not (body or "").strip():
            errors["body"] = ["Required."]
        if errors:
            raise ValidationFailed("The e-mail is not complete.", fields=errors)
        interaction = interaction_log(
            kind=InteractionKind.EMAIL, subject=subject, notes=body, customer_id=customer_id, user=user,
            outcome=f"sent to {to}",
        )  # fmt: skip
        sender = getattr(user, "email", "") or None
        transaction.on_commit(
            lambda: EmailMessage(subject, body, from_email=sender, to=[to]).send(fail_silently=True)
        )
        return interaction

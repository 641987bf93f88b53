"""Stage: the order's header, completed and checked. Currency (the order's, else the channel's),
bill-to and ship-to from the customer's sites when not given, admin defaulting rules for the fields
left blank (most specific wins), and every header refusal at once (an inactive customer, an
unknown currency, a missing address part)."""

from __future__ import annotations

from typing import Any

from customers.models import Customer, CustomerSite, CustomerStatus, DemandClass
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import validate_currency
from partners.models import Channel

from ....inputs import AddressInput, OrderInput
from ....models import DefaultableField
from ....reference import defaulting_rules
from ..context import Capture, as_stored


def apply_defaults(c: Capture) -> None:
    channel, data, customer = c.channel, c.data, c.customer
    errors: dict[str, list[str]] = {}
    if customer.status == CustomerStatus.INACTIVE:
        errors["customer"] = ["The customer account is not active."]
    try:
        c.currency = validate_currency(data.currency or channel.default_currency)
    except ValidationFailed:
        errors["currency"] = [f"Unknown currency '{data.currency}'."]
        c.currency = ""
    bill_in, ship_in, c.sites = default_addresses(customer, data)
    errors.update(address_errors(bill_in, "bill_to"))
    errors.update(address_errors(ship_in, "ship_to"))
    for i, line in enumerate(data.lines):
        if line.ship_to is not None:
            errors.update(address_errors(line.ship_to, f"lines[{i}].ship_to"))
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    c.bill_to, c.ship_to = normalized(bill_in), normalized(ship_in)
    c.line_ship_tos = [normalized(line.ship_to) for line in data.lines]
    defaults = defaults_apply(channel, c.ship_to["country"], data)
    c.ship_method = data.ship_method or defaults.get(DefaultableField.SHIP_METHOD, "")
    try:
        c.priority = (
            data.priority if data.priority is not None else int(defaults.get(DefaultableField.PRIORITY, 5))
        )
    except ValueError:
        c.priority = 5
    c.demand_class = data.demand_class or defaults.get(DefaultableField.DEMAND_CLASS) or customer.demand_class
    if c.demand_class not in DemandClass.values:
        raise ValidationFailed(
            "Unknown demand class.", fields={"demand_class": [f"One of {DemandClass.values}."]}
        )
    c.notes = data.notes or defaults.get(DefaultableField.NOTES, "")
    # Attribution as the storefront sent it, trimmed (reports group on the exact text); a
    # revision that does not repeat it keeps the first revision's.
    c.source_page = data.source_page.strip() or (c.current.source_page if c.current else "")
    c.campaign = data.campaign.strip() or (c.current.campaign if c.current else "")


def site_address(site: CustomerSite | None) -> AddressInput | None:
    if site is None:
        return None
    return AddressInput(
        name=site.name,
        line1=site.line1,
        line2=site.line2,
        city=site.city,
        region=site.region,
        postcode=site.postcode,
        country=site.country,
    )


def default_addresses(
    customer: Customer, data: OrderInput
) -> tuple[AddressInput | None, AddressInput | None, list[CustomerSite] | None]:
    """(bill-to, ship-to, the customer's active sites when they were read for a default)."""
    bill_to, ship_to = data.bill_to, data.ship_to
    sites = getattr(customer, "_active_sites", None)  # read with the customer (a B2B account)
    if bill_to and ship_to:
        return bill_to, ship_to, sites
    if sites is None:
        sites = list(
            CustomerSite.objects.filter(customer=customer, active=True).order_by("-is_primary", "pk")
        )
    if bill_to is None:
        bill_to = site_address(next((s for s in sites if s.purpose in ("bill_to", "both")), None))
    if ship_to is None:
        ship_to = site_address(next((s for s in sites if s.purpose in ("ship_to", "both")), None))
    if bill_to is None:
        bill_to = ship_to
    if ship_to is None:
        ship_to = bill_to
    return bill_to, ship_to, sites


def address_errors(address: AddressInput | None, path: str) -> dict[str, list[str]]:
    if address is None:
        return {path: ["An address is required (none given and none on file)."]}
    errors: dict[str, list[str]] = {}
    for part in ("line1", "city", "country"):
        if not getattr(address, part).strip():
            errors[f"{path}.{part}"] = ["This address part is required."]
    country = address.country.strip()
    if country and (len(country) != 2 or not country.isalpha() or not country.isascii()):
        errors[f"{path}.country"] = ["An ISO 3166-1 alpha-2 code, e.g. US."]
    return errors


def normalized(address: AddressInput | None) -> dict[str, str] | None:
    if address is None:
        return None
    data = {k: v.strip() for k, v in address.as_dict().items()}
    data["country"] = data["country"].upper()
    return as_stored(data)


def defaults_apply(channel: Channel, ship_country: str, data: OrderInput) -> dict[str, Any]:
    """Admin-defined defaults for the fields the order left blank: the most specific rule wins."""
    wanted = {
        DefaultableField.SHIP_METHOD: not data.ship_method,
        DefaultableField.PRIORITY: data.priority is None,
        DefaultableField.DEMAND_CLASS: not data.demand_class,
        DefaultableField.NOTES: not data.notes,
    }
    if not any(wanted.values()):
        return {}
    best: dict[str, tuple[int, str]] = {}
    for rule in defaulting_rules():
        if rule.channel_id not in (None, channel.pk) or rule.country not in ("", ship_country):
            continue
        if not wanted.get(rule.field):
            continue
        score = (2 if rule.channel_id else 0) + (1 if rule.country else 0)
        if rule.field not in best or score > best[rule.field][0]:
            best[rule.field] = (score, rule.value)
    return {name: value for name, (_, value) in best.items()}

"""Stage: trade compliance. Names (customer, bill-to, ship-to, line ship-tos) against the
restricted parties, destination countries against the embargoes, from the cached lists: a hit
holds the order, or refuses it where the embargo or the channel's policy says reject."""

from __future__ import annotations

from collections.abc import Callable

from customers.models import Customer

from ....compliance import ScreeningResult, normalize_party_name
from ....models import COMPLIANCE_HOLD, CompliancePolicy, SalesOrder
from ....reference import screening_lists
from ..context import Capture, ComplianceRejected


def screen(c: Capture) -> None:
    screening = screen_parties(
        c.customer, [c.bill_to, c.ship_to, *c.line_ship_tos], lambda: c.policy().restricted_party_policy
    )
    if screening.reject:
        raise ComplianceRejected(f"Refused by trade-compliance policy: {screening.reason()}.")
    if screening.hit:
        c.plan.holds.append(
            (
                COMPLIANCE_HOLD,
                f"Trade-compliance screening: {screening.reason()}.",
                {
                    "restricted_parties": screening.restricted_parties,
                    "embargoed": screening.embargoed_countries,
                },
            )
        )


def screen_parties(
    customer: Customer, addresses: list[dict | None], party_policy: str | Callable[[], str]
) -> ScreeningResult:
    """Restricted parties and embargoed countries from the cached lists. `party_policy` may be a
    callable: it is asked only when a restricted party is found (nearly every order does not need
    the channel's policy)."""
    names = {normalize_party_name(customer.name)} | {
        normalize_party_name(a.get("name", "")) for a in addresses if a and a.get("name")
    }
    names.discard("")
    countries = {a["country"] for a in addresses if a and a.get("country")}
    lists = screening_lists()
    parties = {listed for name in names for listed in lists.parties.get(name, ())}
    embargoed = [(country, lists.embargoes[country]) for country in countries if country in lists.embargoes]
    result = ScreeningResult()
    result.restricted_parties = sorted(parties)
    if result.restricted_parties:
        policy = party_policy() if callable(party_policy) else party_policy
        result.reject = policy == CompliancePolicy.REJECT
    result.embargoed_countries = sorted(c for c, _ in embargoed)
    result.reject = result.reject or any(p == CompliancePolicy.REJECT for _, p in embargoed)
    return result


def screen_order(order: SalesOrder, party_policy: str) -> ScreeningResult:
    """Screen a stored order again (its customer and address snapshots)."""
    lines = list(order.lines.exclude(ship_to=None).values_list("ship_to", flat=True))
    return screen_parties(order.customer, [order.bill_to, order.ship_to, *lines], party_policy)

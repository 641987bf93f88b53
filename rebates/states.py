"""Lifecycles of the rebates app, as data (docs/states.md lists them with the rest).

Programs: draft -> pending approval -> active -> expired / terminated. Finance approves (or
sends back to draft); an active program's terms are frozen, so a change is a new version (a new
draft that, once approved, terminates the version it supersedes).

Claim statuses are added below the program table by the claims work (one table per lifecycle).
"""

from __future__ import annotations

from django.db import models

from oms.kernel.states import ensure_transition


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


PROGRAM_TRANSITIONS: dict[str, frozenset[str]] = {
    ProgramStatus.DRAFT: frozenset({ProgramStatus.PENDING_APPROVAL, ProgramStatus.TERMINATED}),
    ProgramStatus.PENDING_APPROVAL: frozenset({ProgramStatus.ACTIVE, ProgramStatus.DRAFT}),
    ProgramStatus.ACTIVE: frozenset({ProgramStatus.EXPIRED, ProgramStatus.TERMINATED}),
    ProgramStatus.EXPIRED: frozenset(),
    ProgramStatus.TERMINATED: frozenset(),
}

# Statuses whose terms may still be edited (an active program is frozen: edit a new version).
PROGRAM_EDITABLE = frozenset({ProgramStatus.DRAFT})


def ensure_program_transition(current: str, target: str) -> None:
    ensure_transition(PROGRAM_TRANSITIONS, current, target)


# --- claims (owned by the claims work) ---------------------------------------------------------
# A claim asks the supplier (or, for a customer volume rebate, tells the customer) for what a
# program's accruals earned. The supplier may accept it (approved) or dispute it; a disputed claim is
# resubmitted, accepted or settled as negotiated. Settlement is final: a partial one settles this
# claim and splits the remainder off into a child claim (submitted), or writes it off when it is
# below the write-off threshold. A canceled claim releases its accruals to be claimed again.


class ClaimStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    DISPUTED = "disputed", "Disputed"
    SETTLED = "settled", "Settled"
    CANCELED = "canceled", "Canceled"


CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.OPEN: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.CANCELED}),
    ClaimStatus.SUBMITTED: frozenset(
        {ClaimStatus.APPROVED, ClaimStatus.DISPUTED, ClaimStatus.SETTLED, ClaimStatus.CANCELED}
    ),
    ClaimStatus.DISPUTED: frozenset(
        {ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.SETTLED, ClaimStatus.CANCELED}
    ),
    ClaimStatus.APPROVED: frozenset({ClaimStatus.DISPUTED, ClaimStatus.SETTLED, ClaimStatus.CANCELED}),
    ClaimStatus.SETTLED: frozenset(),
    ClaimStatus.CANCELED: frozenset(),
}

# Claims whose amount still counts as claimed (a canceled claim gives its accruals back).
CLAIM_LIVE_STATUSES = frozenset(s for s in ClaimStatus if s != ClaimStatus.CANCELED)
# Claims still waiting for money.
CLAIM_PENDING_STATUSES = frozenset(
    {ClaimStatus.OPEN, ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.DISPUTED}
)


class DisputeReason(models.TextChoices):
    PRICE = "price", "Price or rate disagreement"
    QUANTITY = "quantity", "Quantity disagreement"
    ELIGIBILITY = "eligibility", "Product or customer not eligible"
    DUPLICATE = "duplicate", "Already claimed"
    DOCUMENTATION = "documentation", "Missing proof of sale"
    PERIOD = "period", "Outside the program period"
    OTHER = "other", "Other"


def ensure_claim_transition(current: str, target: str) -> None:
    ensure_transition(CLAIM_TRANSITIONS, current, target)

"""The sales pipeline of a lead, as data: a stage change is legal only if this table lists it."""

from __future__ import annotations

from django.db import models


class LeadStage(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    PROPOSAL = "proposal", "Proposal"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# WON is reached only by converting the lead into an account (`lead_convert`), so a won lead
# always names its customer; a lost lead can be reopened as new.
LEAD_TRANSITIONS: dict[str, frozenset[str]] = {
    LeadStage.NEW: frozenset({LeadStage.CONTACTED, LeadStage.QUALIFIED, LeadStage.WON, LeadStage.LOST}),
    LeadStage.CONTACTED: frozenset({LeadStage.QUALIFIED, LeadStage.WON, LeadStage.LOST}),
    LeadStage.QUALIFIED: frozenset({LeadStage.PROPOSAL, LeadStage.WON, LeadStage.LOST}),
    LeadStage.PROPOSAL: frozenset({LeadStage.WON, LeadStage.LOST}),
    LeadStage.WON: frozenset(),
    LeadStage.LOST: frozenset({LeadStage.NEW}),
}

# The board's columns, and the one step forward each card offers (a phone has no drag and drop).
PIPELINE = (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.QUALIFIED, LeadStage.PROPOSAL)
NEXT_STAGE: dict[str, str] = {
    LeadStage.NEW: LeadStage.CONTACTED,
    LeadStage.CONTACTED: LeadStage.QUALIFIED,
    LeadStage.QUALIFIED: LeadStage.PROPOSAL,
}

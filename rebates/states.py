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

"""The standard orchestration processes and their assignment rules."""

from __future__ import annotations

from fulfillment.models import AssignmentRule, ProcessDefinition

from .base import Context


def fulfillment(ctx: Context) -> None:
    """The three standard orchestration processes and their assignment rules (idempotent)."""
    from fulfillment.seeding import processes_seed

    before = ProcessDefinition.objects.count(), AssignmentRule.objects.count()
    made = processes_seed()
    ctx.progress("fulfillment processes", len(made), len(made), ProcessDefinition.objects.count() - before[0])
    rules = AssignmentRule.objects.count()
    ctx.progress("assignment rules", rules, rules, rules - before[1])
    ctx.write(f"    {', '.join(str(d) for d in made.values())}")

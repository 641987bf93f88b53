"""The standard orchestration processes and their assignment rules."""

from __future__ import annotations

from .base import Context


def fulfillment(ctx: Context) -> None:
    """The three standard orchestration processes and their assignment rules (idempotent)."""
    from fulfillment.seeding import processes_seed

    made = processes_seed()
    ctx.write(f"  {'fulfillment processes':<22} {', '.join(str(d) for d in made.values())}")

"""Step types: what each task type does, how it is undone or updated when the order changes,
and which hold scope stops it. The engine knows only this registry (docs/orchestration.md:
"How to add a process step type")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..models import FulfillmentLine, ProcessInstance, StepDefinition, StepInstance


@dataclass
class StepContext:
    step: StepInstance
    definition: StepDefinition
    process: ProcessInstance
    line: FulfillmentLine  # locked for the length of the step's transaction
    now: datetime


@dataclass(frozen=True)
class Done:
    note: str = ""


@dataclass(frozen=True)
class Wait:
    wake_at: datetime  # the beat scan re-runs the step then (a re-check for event waits)
    event: str = ""


Outcome = Done | Wait

# Change kinds a revision can carry, matched against `StepType.affected_by`.
QUANTITY = "quantity"
SHIP_TO = "ship_to"
RESERVATION_LOST = "reservation_lost"
RESOURCE = "resource"  # a what-if chose other sourcing: redo from SCHEDULE, undo what it led to


@dataclass(frozen=True)
class StepType:
    run: Callable[[StepContext], Outcome]
    undo: Callable[[StepContext], None] | None = None  # cancel the step's side effect
    update: Callable[[StepContext], None] | None = None  # adjust it in place
    hold_scope: str | None = None  # orders.states.HoldScope value; None: no hold stops it
    affected_by: frozenset[str] = field(default_factory=frozenset)


REGISTRY: dict[str, StepType] = {}


def register(task_type: str, step_type: StepType) -> None:
    REGISTRY[task_type] = step_type


def step_type(task_type: str) -> StepType:
    from . import handlers  # noqa: F401  (fills the registry)

    return REGISTRY[task_type]

"""Process definitions: validation, publishing, new versions."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from oms.kernel.exceptions import ValidationFailed

from ..models import ProcessDefinition, StepDefinition
from ..states import DEFINITION_TRANSITIONS, GOODS_STEPS, DefinitionStatus, TaskType, ensure_transition


def definition_errors(steps: list[StepDefinition]) -> list[str]:
    """What is wrong with an ordered list of steps (empty: valid)."""
    errors: list[str] = []
    if not steps:
        return ["A process needs at least one step."]
    steps = sorted(steps, key=lambda s: s.sequence)
    if len({s.sequence for s in steps}) != len(steps):
        errors.append("Step sequence numbers must be unique.")
    if steps[0].branch:
        errors.append("Exactly one start: the first step must be on every branch (no branch condition).")
    if steps[-1].branch or steps[-1].task_type != TaskType.CLOSE:
        errors.append("Branches must merge: the last step must be a CLOSE step on every branch.")
    if sum(1 for s in steps if s.task_type == TaskType.CLOSE) != 1:
        errors.append("A process has exactly one CLOSE step.")
    invoiced_at = next((s.sequence for s in steps if s.task_type == TaskType.INVOICE), None)
    if invoiced_at is not None:
        late = [
            s.name or s.task_type for s in steps if s.sequence > invoiced_at and s.task_type in GOODS_STEPS
        ]
        if late:
            errors.append(f"No scheduling, reservation or shipping step after INVOICE: {', '.join(late)}.")
    for s in steps:
        if s.task_type != TaskType.PAUSE and (s.pause_offset_hours or s.pause_event):
            errors.append(f"Step {s.sequence}: only PAUSE steps take a pause offset or event.")
        if s.task_type == TaskType.TRANSFER and s.target_warehouse_id is None:
            errors.append(f"Step {s.sequence}: a TRANSFER step names its target warehouse.")
    return errors


def definition_validate(definition: ProcessDefinition) -> None:
    errors = definition_errors(list(definition.steps.all()))
    if errors:
        raise ValidationFailed("The process definition is not valid.", fields={"steps": errors})


@transaction.atomic
def definition_publish(*, definition_id: int) -> ProcessDefinition:
    """Freeze a draft. Earlier published versions of the code retire (running instances keep
    theirs); new lines get this version."""
    definition = ProcessDefinition.objects.select_for_update(of=("self",)).get(pk=definition_id)
    ensure_transition(DEFINITION_TRANSITIONS, definition.status, DefinitionStatus.PUBLISHED)
    definition_validate(definition)
    ProcessDefinition.objects.filter(code=definition.code, status=DefinitionStatus.PUBLISHED).update(
        status=DefinitionStatus.RETIRED
    )
    definition.status = DefinitionStatus.PUBLISHED
    definition.published_at = timezone.now()
    definition.save(update_fields=["status", "published_at"])
    return definition


@transaction.atomic
def definition_new_version(*, definition_id: int) -> ProcessDefinition:
    """A draft copy with the next version number, to edit and publish."""
    source = ProcessDefinition.objects.get(pk=definition_id)
    latest = (
        ProcessDefinition.objects.filter(code=source.code)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    draft = ProcessDefinition.objects.create(
        code=source.code, version=latest + 1, name=source.name, description=source.description
    )
    StepDefinition.objects.bulk_create(
        [
            StepDefinition(
                definition=draft,
                sequence=s.sequence,
                name=s.name,
                task_type=s.task_type,
                branch=s.branch,
                lead_time_hours=s.lead_time_hours,
                compensation=s.compensation,
                pause_offset_hours=s.pause_offset_hours,
                pause_event=s.pause_event,
                target_warehouse_id=s.target_warehouse_id,
            )
            for s in source.steps.order_by("sequence")
        ]
    )
    return draft


def definition_create(*, code: str, name: str, steps: list[dict], publish: bool = True) -> ProcessDefinition:
    """Create (and by default publish) a definition from step dicts; used by seeding and tests."""
    with transaction.atomic():
        latest = (
            ProcessDefinition.objects.filter(code=code)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        definition = ProcessDefinition.objects.create(code=code, version=(latest or 0) + 1, name=name)
        StepDefinition.objects.bulk_create(
            [
                StepDefinition(definition=definition, sequence=(i + 1) * 10, **step)
                for i, step in enumerate(steps)
            ]
        )
        if publish:
            definition = definition_publish(definition_id=definition.pk)
    return definition

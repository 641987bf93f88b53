"""The jeopardy policy console (admin, no code): a valid policy saves; overlapping or gapped
priority ranges, overlapping thresholds, an unknown step type or process are refused with a
clear message and nothing is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fulfillment.models import JeopardyPolicy, JeopardyPriorityRange, JeopardyThreshold
from fulfillment.services.jeopardy import RangeInput, ThresholdInput, policy_validate
from oms.kernel.exceptions import ValidationFailed

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

GOOD_RANGES = [("on_time", "0", "9"), ("low", "10", "49"), ("medium", "50", "89"), ("high", "90", "")]
GOOD_THRESHOLDS = [("0", "hours", "10"), ("1", "days", "50"), ("3", "days", "90")]


def _form(
    *, name="Ship steps", process_code="", task_type="", thresholds=GOOD_THRESHOLDS, ranges=GOOD_RANGES
):
    data = {"name": name, "process_code": process_code, "task_type": task_type, "active": "on"}
    for prefix, rows, fields in (
        ("thresholds", thresholds, ("min_delay", "unit", "score")),
        ("priority_ranges", ranges, ("priority", "min_score", "max_score")),
    ):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for i, row in enumerate(rows):
            data |= {f"{prefix}-{i}-{field}": value for field, value in zip(fields, row, strict=True)}
    return data


def _add(admin_client, **kwargs):
    return admin_client.post(reverse("admin:fulfillment_jeopardypolicy_add"), _form(**kwargs))


def test_a_valid_policy_saves_with_its_thresholds_in_hours(admin_client, fworld):
    response = _add(admin_client, process_code="ship-from-warehouse", task_type="wait_for_shipment")
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = JeopardyPolicy.objects.get()
    assert sorted(policy.thresholds.values_list("min_delay_hours", "score")) == [(0, 10), (24, 50), (72, 90)]
    assert policy.priority_ranges.count() == 4
    for screen in ("jeopardypolicy", "jeopardyalert", "jeopardyscan", "holiday"):
        assert admin_client.get(reverse(f"admin:fulfillment_{screen}_changelist")).status_code == 200, screen
    assert (
        admin_client.get(reverse("admin:fulfillment_jeopardypolicy_change", args=[policy.pk])).status_code
        == 200
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"ranges": [("on_time", "0", "9"), ("low", "5", "49"), ("high", "50", "")]},
            "The ranges of on_time (0..9) and low (from 5) overlap.",
        ),
        (
            {"ranges": [("on_time", "0", "9"), ("low", "20", "49"), ("high", "50", "")]},
            "Scores 10..19 have no priority: a gap between on_time and low.",
        ),
        ({"ranges": [("low", "1", "49"), ("high", "50", "")]}, "The ranges must start at score 0"),
        (
            {"ranges": [("on_time", "0", "9"), ("high", "10", "49"), ("low", "50", "")]},
            "A higher score must never mean a lower priority",
        ),
        (
            {"thresholds": [("1", "days", "50"), ("24", "hours", "60")]},
            "Two thresholds start at the same delay (1 day and 24 hours): they overlap.",
        ),
        ({"thresholds": [("0", "hours", "50"), ("2", "days", "10")]}, "The score falls from 50 to 10"),
        ({"task_type": "teleport"}, "Select a valid choice. teleport is not one of the available choices."),
        (
            {"process_code": "no-such-process"},
            "No process definition has the code &#x27;no-such-process&#x27;.",
        ),
    ],
)
def test_bad_policies_are_refused_with_a_clear_message_and_nothing_saved(
    admin_client, fworld, kwargs, message
):
    response = _add(admin_client, **kwargs)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not JeopardyPolicy.objects.exists()
    assert not JeopardyThreshold.objects.exists() and not JeopardyPriorityRange.objects.exists()


@pytest.mark.unit
def test_policy_validate_names_the_field_and_the_problem():
    with pytest.raises(ValidationFailed) as caught:
        policy_validate(
            thresholds=[ThresholdInput(min_delay=1, unit="days", score=5)],
            ranges=[RangeInput("on_time", 0, 4), RangeInput("low", 4, None)],
        )
    assert caught.value.fields == {
        "priority_ranges": ["The ranges of on_time (0..4) and low (from 4) overlap."]
    }

"""fastinsert writes the same rows the ORM would, sets the keys, and never skips a receiver."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from oms.kernel import fastinsert
from oms.kernel.models import OutboxEvent
from pricing.models import DiscountRule
from pricing.snapshot import ruleset_version_read

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_rows_are_those_the_orm_writes_and_get_their_keys(django_assert_num_queries):
    payload = {"total": Decimal("10.50"), "lines": [1, 2], "note": "ünïcode"}
    by_orm = OutboxEvent.objects.create(
        topic="t.orm", aggregate_type="order", aggregate_id="1", payload=payload
    )
    fast = [
        OutboxEvent(topic=f"t.fast{i}", aggregate_type="order", aggregate_id="1", payload=payload)
        for i in range(3)
    ]
    with django_assert_num_queries(1):
        fastinsert.insert(fast)
    assert all(e.pk and not e._state.adding for e in fast) and len({e.pk for e in fast}) == 3
    for event in fast:
        stored = OutboxEvent.objects.get(pk=event.pk)
        assert stored.topic == event.topic
        mine, theirs = model_to_dict(stored), model_to_dict(OutboxEvent.objects.get(pk=by_orm.pk))
        for name in ("aggregate_type", "aggregate_id", "payload", "correlation_id"):
            assert mine[name] == theirs[name]
        assert stored.created_at == event.created_at


def test_a_unique_violation_is_django_s_integrity_error():
    from django.utils import timezone

    from orders.models import IdempotencyKey

    def key() -> IdempotencyKey:
        now = timezone.now()
        return IdempotencyKey(
            principal="channel:1", key="k-1", request_hash="h", locked_until=now, expires_at=now
        )

    fastinsert.insert([key()])
    with pytest.raises(IntegrityError), transaction.atomic():
        fastinsert.insert([key()])
    assert IdempotencyKey.objects.filter(key="k-1").count() == 1


def test_a_model_with_save_receivers_is_saved_through_the_orm_so_they_run():
    before = ruleset_version_read()
    rule = DiscountRule(code="via-orm", name="x", action="percent_off", value=Decimal(5))
    fastinsert.insert([rule])
    assert rule.pk and ruleset_version_read() != before  # pricing's post_save bumped the version

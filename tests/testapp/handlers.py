"""Subscribers the outbox tests publish to; they run in the test process and in worker processes."""

from oms.kernel import events
from oms.kernel.context import get_correlation_id

from .models import Effect


def _record(name: str, event: events.Event) -> None:
    Effect.objects.create(
        subscriber=name,
        event_id=event.id,
        topic=event.topic,
        aggregate_id=event.aggregate_id,
        seq=event.payload.get("seq"),
        correlation_id=get_correlation_id(),
    )


@events.subscriber("test.recorder", topics=["test.*"])
def recorder(event: events.Event) -> None:
    _record("test.recorder", event)


@events.subscriber("test.flaky", topics=["test.*"])
def flaky(event: events.Event) -> None:
    # Writes first, then fails: the effect must roll back with the failed attempt.
    _record("test.flaky", event)
    if event.payload.get("poison") or event.attempt <= int(event.payload.get("fail_times", 0)):
        raise RuntimeError(f"flaky handler refuses attempt {event.attempt}")

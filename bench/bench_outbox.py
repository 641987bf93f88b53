"""Outbox: publish cost per event and relay throughput (deliveries per second), on PostgreSQL."""

from __future__ import annotations

from _common import Timer, emit, median_of, setup_django

EVENTS = 2000


def run() -> dict:
    setup_django()
    from django.db import transaction

    from oms.kernel import events
    from oms.kernel.models import OutboxDelivery, OutboxEvent

    def one_round() -> tuple[float, float]:
        OutboxDelivery.objects.all().delete()
        OutboxEvent.objects.all().delete()
        with Timer() as publish:
            for i in range(EVENTS):
                with transaction.atomic():
                    events.publish("bench.created", {"seq": i}, aggregate=("order", i % 50))
        with Timer() as relay:
            delivered = events.relay_run(batch_size=200, max_batches=10_000).delivered
        assert delivered == OutboxDelivery.objects.count(), "every delivery is made"
        return EVENTS / publish.elapsed, delivered / relay.elapsed

    rounds = [one_round() for _ in range(3)]
    publish_rate, _ = median_of(iter([r[0] for r in rounds]).__next__, runs=3)
    relay_rate, _ = median_of(iter([r[1] for r in rounds]).__next__, runs=3)
    return {
        "name": "outbox",
        "figures": {
            "publish (own transaction each), events/s": round(publish_rate, 1),
            "relay, deliveries/s (one relay)": round(relay_rate, 1),
        },
        "unit": {},
        "notes": f"{EVENTS} events over 50 aggregates, median of 3 rounds",
    }


if __name__ == "__main__":
    emit(run())

"""The versioned reference-data cache: a change is seen at the next read, a scope reads the
versions once, and neither a bump outside a transaction nor a rolled-back one leaves it stale."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from oms.kernel import refcache
from oms.kernel.models import ReferenceDataVersion
from tests.testapp.models import Effect

pytestmark = [pytest.mark.integration]

NAME = "tests.effects"
OTHER = "tests.effect_count"
loads: list[str] = []


def _subscribers() -> tuple[str, ...]:
    loads.append(NAME)
    return tuple(Effect.objects.order_by("id").values_list("subscriber", flat=True))


def _count() -> int:
    loads.append(OTHER)
    return Effect.objects.count()


@pytest.fixture
def registered():
    refcache.register(NAME, models=[Effect], loader=_subscribers)
    refcache.register(OTHER, models=[Effect], loader=_count)
    loads.clear()
    yield
    refcache.unregister(NAME)
    refcache.unregister(OTHER)


def _effect(subscriber: str) -> Effect:
    return Effect.objects.create(subscriber=subscriber, event_id=1, topic="t")


def _committed_version(name: str) -> tuple[int, str] | None:
    """The row as another connection sees it (committed state only)."""
    out: list = []

    def read():
        try:
            row = ReferenceDataVersion.objects.filter(name=name).values_list("version", "token").first()
            out.append(row)
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return out[0]


@pytest.mark.django_db
def test_a_save_or_delete_is_seen_by_the_next_get_and_an_unchanged_version_reloads_nothing(
    registered, django_assert_num_queries
):
    assert refcache.get(NAME) == ()
    with django_assert_num_queries(1):  # the versions only: the facts come from the cache
        assert refcache.get(NAME) == ()
    assert loads == [NAME]
    effect = _effect("a")
    assert refcache.get(NAME) == ("a",)
    effect.subscriber = "b"
    effect.save()
    assert refcache.get(NAME) == ("b",)
    effect.delete()
    assert refcache.get(NAME) == ()
    assert loads == [NAME] * 4


@pytest.mark.django_db
def test_a_scope_reads_every_version_once_and_sees_its_own_bump(registered, django_assert_num_queries):
    refcache.get(NAME), refcache.get(OTHER)  # loaded
    with refcache.scope():
        with django_assert_num_queries(1):
            assert refcache.get(NAME) == ()
            assert refcache.get(OTHER) == 0
            assert refcache.get(NAME) == ()
        with refcache.scope(), django_assert_num_queries(0):  # nested: shares the outer read
            refcache.get(OTHER)
        _effect("a")  # bumps both names, and this scope forgets what it read
        assert refcache.get(NAME) == ("a",)
        assert refcache.get(OTHER) == 1


@pytest.mark.django_db
def test_writes_without_signals_are_seen_after_an_explicit_bump(registered):
    assert refcache.get(NAME) == ()
    Effect.objects.bulk_create([Effect(subscriber="bulk", event_id=1, topic="t")])
    assert refcache.get(NAME) == ()  # no signal, no bump: documented
    refcache.bump(NAME)
    assert refcache.get(NAME) == ("bulk",)


@pytest.mark.django_db
def test_a_registered_name_without_a_row_gets_one(registered):
    ReferenceDataVersion.objects.filter(name=NAME).delete()
    refcache.get(NAME)
    row = ReferenceDataVersion.objects.get(name=NAME)
    assert row.version == 1 and len(row.token) == 32


@pytest.mark.django_db(transaction=True)
def test_a_bump_outside_a_transaction_is_committed_at_once(registered):
    refcache.get(NAME)
    before = _committed_version(NAME)
    _effect("a")  # autocommit: the save and its bump each commit on their own
    after = _committed_version(NAME)
    assert after[0] == before[0] + 1 and after[1] != before[1]
    assert refcache.get(NAME) == ("a",)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_bump_leaves_no_stale_cache(registered):
    assert refcache.get(NAME) == ()
    committed = _committed_version(NAME)

    with pytest.raises(RuntimeError), transaction.atomic():
        _effect("rolled-back")
        assert refcache.get(NAME) == ("rolled-back",)  # loaded from the uncommitted change
        raise RuntimeError

    assert _committed_version(NAME) == committed
    assert refcache.get(NAME) == ()
    # The next committed change reuses the rolled-back version number; its new token still
    # tells it apart from what the rolled-back transaction loaded.
    _effect("kept")
    assert _committed_version(NAME)[0] == committed[0] + 1
    assert refcache.get(NAME) == ("kept",)


@pytest.mark.django_db(transaction=True)
def test_the_same_version_number_with_another_token_reloads(registered):
    """What another process sees after a rollback here: same number, different facts."""
    refcache.get(NAME)
    with transaction.atomic():
        _effect("mine")
        assert refcache.get(NAME) == ("mine",)
        version = ReferenceDataVersion.objects.get(name=NAME).version
        transaction.set_rollback(True)
    Effect.objects.bulk_create([Effect(subscriber="theirs", event_id=1, topic="t")])
    refcache.bump(NAME)
    assert ReferenceDataVersion.objects.get(name=NAME).version == version
    assert refcache.get(NAME) == ("theirs",)

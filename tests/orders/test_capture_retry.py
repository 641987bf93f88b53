"""A capture that PostgreSQL rolls back at commit (a deadlock victim: the deferred foreign-key
checks run there) is run again inside the request, and the caller gets the answer of the run
that committed, the same one a replay of its Idempotency-Key gives."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.test import Client

from oms.kernel import dbretry
from orders.models import IdempotencyKey, SalesOrder

from .conftest import api_post, build_world, order_body

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class _Deadlock(Exception):
    pgcode = "40P01"


def _fail_commits(monkeypatch, times: int) -> list[int]:
    """The next `times` commits on this connection fail as a deadlock victim's would."""
    real, failed = connection.commit, []

    def commit():
        if len(failed) < times:
            failed.append(1)
            try:
                raise _Deadlock("deadlock detected")
            except _Deadlock as raw:
                raise OperationalError("deadlock detected") from raw
        return real()

    monkeypatch.setattr(connection, "commit", commit)
    return failed


def test_a_capture_rolled_back_at_commit_is_run_again_and_answers_what_committed(monkeypatch):
    world = build_world()
    failed = _fail_commits(monkeypatch, 1)
    response = api_post(Client(), "/api/v1/orders", order_body("RETRY-1"), key=world.web.key, idem="k-1")
    assert failed == [1]  # the first run really was rolled back
    assert response.status_code == 201, response.content
    order = SalesOrder.objects.get(source_order_id="RETRY-1")
    # The sequence moved on for the run that was rolled back: the answer names the stored order.
    assert response.json()["number"] == order.number
    replay = api_post(Client(), "/api/v1/orders", order_body("RETRY-1"), key=world.web.key, idem="k-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == response.content


def test_when_every_run_conflicts_the_answer_is_503_retry_and_the_key_is_given_back(monkeypatch):
    world = build_world()
    failed = _fail_commits(monkeypatch, dbretry.ATTEMPTS)
    client = Client(raise_request_exception=False)
    response = api_post(client, "/api/v1/orders", order_body("RETRY-2"), key=world.web.key, idem="k-2")
    assert len(failed) == dbretry.ATTEMPTS
    assert response.status_code == 503
    assert response.json()["code"] == "retry" and response["Retry-After"] == "1"
    assert not SalesOrder.objects.filter(source_order_id="RETRY-2").exists()
    assert not IdempotencyKey.objects.filter(key="k-2").exists()
    again = api_post(client, "/api/v1/orders", order_body("RETRY-2"), key=world.web.key, idem="k-2")
    assert again.status_code == 201

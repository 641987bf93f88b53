"""The staff order entry's submission: the API's idempotent path for a form.

The entry form carries an idempotency key made when it was shown. Submitting claims the key
(committed on its own, with a lease) before the capture runs, and the capture stores its answer
(the order number) in its own transaction. A second post of the same form -- a double click, a
retry after a timeout -- finds the key in flight and waits for the first to finish, or finds the
answer and replays it: it never reaches the capture, so it can never collide with the first on
the order's unique index. A refused submission gives the key back, so the corrected form can be
sent again under it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from oms.kernel.exceptions import IdempotencyKeyReused, InFlight
from partners.models import Channel

from ..actors import Actor
from ..inputs import OrderInput
from ..models import IdempotencyKey, IdempotencyStatus
from .capture import SubmitResult, order_submit
from .idempotency import idempotency_abandon, idempotency_claim, idempotency_complete, request_fingerprint

ENTRY_PATH = "ui:orders:entry"  # the fingerprint's "path": UI keys never match an API request's
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class EntryOutcome:
    number: str
    status: str
    replayed: bool = False  # this post was a repeat of one that already made the order


def _fingerprint(channel: Channel, data: OrderInput) -> str:
    body = json.dumps({"channel": channel.code, "order": asdict(data)}, sort_keys=True, default=str)
    return request_fingerprint(method="POST", path=ENTRY_PATH, body=body.encode())


def _answer(row: IdempotencyKey) -> EntryOutcome:
    stored = json.loads(bytes(row.response_body or b"{}"))
    return EntryOutcome(number=stored["number"], status=stored["status"], replayed=True)


def order_submit_once(
    *, channel: Channel, actor: Actor, data: OrderInput, key: str, wait_seconds: float = WAIT_SECONDS
) -> EntryOutcome:
    """Capture the entry form's order once per key. Raises the capture's DomainError when it is
    refused (the key is given back), InFlight when a first post of the same form is still running
    after `wait_seconds`."""
    fingerprint = _fingerprint(channel, data)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            claim = idempotency_claim(principal=actor.idempotency_scope, key=key, request_hash=fingerprint)
        except InFlight:
            if time.monotonic() >= deadline:
                raise
            time.sleep(POLL_SECONDS)
            continue
        except IdempotencyKeyReused:
            # The form made an order already and was then changed and sent again (the back
            # button): that order stands; the person is shown it rather than a second one.
            row = IdempotencyKey.objects.filter(
                principal=actor.idempotency_scope, key=key, status=IdempotencyStatus.COMPLETED
            ).first()
            if row is None:
                raise
            return _answer(row)
        break
    if claim.replay is not None:
        return _answer(claim.replay)

    def store_answer(result: SubmitResult) -> None:
        body = json.dumps({"number": result.order.number, "status": result.order.status})
        idempotency_complete(
            claim=claim.claimed, status=201, body=body.encode(), content_type="application/json"
        )

    try:
        result = order_submit(channel=channel, actor=actor, data=data, before_commit=store_answer)
    except BaseException:
        # Refused (a DomainError) or failed: the corrected form may be sent under the key again.
        idempotency_abandon(claim=claim.claimed)
        raise
    return EntryOutcome(number=result.order.number, status=result.order.status)


__all__ = ["EntryOutcome", "order_submit_once"]

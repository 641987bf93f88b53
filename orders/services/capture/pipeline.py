"""The capture pipeline: `order_submit` runs the stages, in one transaction."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from oms.kernel import dbretry, refcache
from partners.models import Channel

from ...actors import Actor
from ...inputs import OrderInput
from .context import Capture, SubmitResult
from .stages.change_cost import assess_change_cost
from .stages.credit import check_credit_and_approvals
from .stages.customer import resolve_customer
from .stages.defaults import apply_defaults
from .stages.lines import validate_lines
from .stages.persist import persist, supersede_current
from .stages.pricing import price
from .stages.publish import publish, record_events
from .stages.reserve import reserve
from .stages.revision import check_revision, stale_revision
from .stages.screening import screen

# Each stage does one job on the capture in hand; a refusal raises a DomainError and, as the
# stages run in one transaction, leaves nothing behind. Nothing is written before `supersede_current`.
STAGES: tuple[Callable[[Capture], None], ...] = (
    check_revision,  # the source order's current revision, locked; a revision not above it is refused
    validate_lines,  # products, units and conversions of every line
    resolve_customer,  # a B2B account, or a storefront consumer (created on first order)
    apply_defaults,  # currency, addresses and admin defaults; every header refusal at once
    price,  # the lines and the order, from pricing's snapshot
    screen,  # trade compliance: a hold, or a refusal
    check_credit_and_approvals,  # a credit hold; pending approval
    assess_change_cost,  # a revision: what it costs downstream; approval or refusal over the policy
    supersede_current,  # a revision takes over from the current one
    persist,  # the order, its lines and holds
    reserve,  # stock at the channel's ranked warehouses, or back-orders
    record_events,  # the audit trail, in one statement
    publish,  # coupons, the outbox event, credit exposure
)


def order_submit(
    *,
    channel: Channel,
    actor: Actor,
    data: OrderInput,
    before_commit: Callable[[SubmitResult], None] | None = None,
) -> SubmitResult:
    """Capture (or revise) an order. Raises a DomainError (nothing written) when it is refused.

    `before_commit` runs last, inside the order's transaction: the API stores its idempotent
    answer there, so the order and the answer a retry replays commit together or not at all."""
    # One read of the reference-data versions per capture, also outside a request (file import).
    # A deadlock or serialization failure rolled the whole capture back: run it again, a few times.
    # So is a lost race on the source order (see _lost_source_order_race): the next run reads the
    # winner's revision and answers as if the two had come one after the other.
    with refcache.scope():
        try:
            return dbretry.run(
                lambda: _submit(channel=channel, actor=actor, data=data, before_commit=before_commit),
                what="order capture",
                retry_if=_lost_source_order_race,
            )
        except IntegrityError as exc:
            if not _lost_source_order_race(exc):
                raise
            raise stale_revision(channel.pk, data) from exc


@transaction.atomic
def _submit(
    *,
    channel: Channel,
    actor: Actor,
    data: OrderInput,
    before_commit: Callable[[SubmitResult], None] | None,
) -> SubmitResult:
    capture = Capture(channel=channel, actor=actor, data=data)
    for stage in STAGES:
        stage(capture)
    result = SubmitResult(order=capture.order, revised_from=capture.current, change_cost=capture.change_cost)
    if before_commit is not None:
        before_commit(result)
    return result


# The constraints two writers of one source order collide on. On PostgreSQL a revision waits for
# the row lock on the current revision; when the other writer commits, the row it waited for is no
# longer current and the lookup returns nothing, so the waiter would insert as a new order and hit
# one of these (two first submissions meet here directly). Nothing was written: run it again.
SOURCE_ORDER_CONSTRAINTS = frozenset({"salesorder_one_current_revision", "salesorder_source_revision_unique"})


def _lost_source_order_race(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError) and dbretry.constraint_name(exc) in SOURCE_ORDER_CONSTRAINTS

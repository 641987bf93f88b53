"""The claim mark on accruals: claims take unclaimed accruals (and give them back when a claim is
canceled) through these two services; nothing else edits an accrual."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from oms.kernel.exceptions import Conflict, ValidationFailed

from ..models import Accrual


@transaction.atomic
def accruals_mark_claimed(*, accrual_ids: Sequence[int], claim_number: str) -> int:
    """Mark the accruals as taken by claim `claim_number`, all or nothing: one conditional
    UPDATE (`claimed_at IS NULL`); if any of them is already claimed (by a concurrent claim
    too), raises Conflict and nothing is marked. Returns the number marked."""
    ids = sorted(set(accrual_ids))
    if not claim_number:
        raise ValidationFailed("A claim number is required.", fields={"claim_number": ["Required."]})
    if not ids:
        return 0
    marked = Accrual.objects.filter(pk__in=ids, claimed_at__isnull=True).update(
        claimed_at=timezone.now(), claim_number=claim_number
    )
    if marked != len(ids):
        raise Conflict(
            f"{len(ids) - marked} of these accruals are already claimed or do not exist.",
            fields={"accruals": ["Already claimed."]},
        )
    return marked


@transaction.atomic
def accruals_release_claim(*, claim_number: str, accrual_ids: Sequence[int] | None = None) -> int:
    """Give accruals back (unclaimed) from claim `claim_number`: all of them, or only
    `accrual_ids`. Returns the number released."""
    qs = Accrual.objects.filter(claim_number=claim_number, claimed_at__isnull=False)
    if accrual_ids is not None:
        qs = qs.filter(pk__in=list(accrual_ids))
    return qs.update(claimed_at=None, claim_number="")

"""The only writes reporting makes: people's saved searches."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import transaction

from oms.kernel.exceptions import ValidationFailed

from .models import SavedSearch

# Parameters that describe where the person is in the list, not what they are looking for.
_NOT_FILTERS = {"page", "csrfmiddlewaretoken", "name"}


@transaction.atomic
def saved_search_save(*, user, screen: str, name: str, params: dict[str, str]) -> SavedSearch:
    name = name.strip()
    if not name:
        raise ValidationFailed("A saved search needs a name.", fields={"name": ["Required."]})
    query = urlencode(sorted((k, v) for k, v in params.items() if k not in _NOT_FILTERS and v))
    saved, _ = SavedSearch.objects.update_or_create(
        user=user, screen=screen, name=name[:80], defaults={"query": query[:1000]}
    )
    return saved


@transaction.atomic
def saved_search_delete(*, user, saved_search_id: int) -> None:
    SavedSearch.objects.filter(pk=saved_search_id, user=user).delete()

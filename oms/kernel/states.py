"""The one check every lifecycle uses: a transition is legal only if its table lists it."""

from __future__ import annotations

from collections.abc import Mapping

from .exceptions import IllegalTransition


def ensure_transition(table: Mapping[str, frozenset[str]], current: str, target: str) -> None:
    """Raise IllegalTransition (API: 409) unless `table[current]` allows `target`."""
    if target not in table.get(current, frozenset()):
        raise IllegalTransition(str(current), str(target))

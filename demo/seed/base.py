"""What every seeding step shares: the output, the seeded random stream and the demo password."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

SEED = 2026
DEFAULT_PASSWORD = "oms-demo-2026"  # noqa: S105 - a documented demo login, overridable by env


@dataclass
class Tally:
    created: int = 0
    total: int = 0


@dataclass
class Context:
    out: Any  # the command's stdout (an OutputWrapper)
    style: Any  # the command's style (SUCCESS, WARNING, ...)
    password: str
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))

    def write(self, text: str) -> None:
        self.out.write(text)

    def progress(self, label: str, done: int, total: int, created: int) -> None:
        """One honest line per kind of row: how many exist of how many wanted, and how many this
        run created (a second run says 0 new everywhere)."""
        self.write(f"  {label:<22} {done}/{total}  ({created} new)")

    def secret(self, owner: str, raw_key: str) -> None:
        self.write(self.style.WARNING(f"    {owner}: {raw_key}"))

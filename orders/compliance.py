"""Trade-compliance screening: restricted parties and embargoed destinations (admin lists)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_NOISE = re.compile(r"\b(inc|llc|ltd|gmbh|co|corp|corporation|company|sa|ag|bv|plc)\b")


def normalize_party_name(name: str) -> str:
    """Case, accents, punctuation and legal-form suffixes do not hide a listed party."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = _NOISE.sub(" ", text)
    return " ".join(text.split())


@dataclass
class ScreeningResult:
    restricted_parties: list[str] = field(default_factory=list)
    embargoed_countries: list[str] = field(default_factory=list)
    reject: bool = False

    @property
    def hit(self) -> bool:
        return bool(self.restricted_parties or self.embargoed_countries)

    def reason(self) -> str:
        parts = []
        if self.restricted_parties:
            parts.append("restricted party: " + ", ".join(self.restricted_parties))
        if self.embargoed_countries:
            parts.append("embargoed destination: " + ", ".join(self.embargoed_countries))
        return "; ".join(parts)

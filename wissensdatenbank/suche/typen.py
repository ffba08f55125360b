"""Public data types of the search."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SuchDokument:
    id: int
    name: str  # Leistungsname, citizen wording: highest weight
    suchbegriffe: tuple[str, ...] = ()  # synonyms / keywords: high weight
    bezeichnung: str = ""  # official title (Leistungsbezeichnung): medium
    text: str = ""  # teaser + kurztext + volltext + other modules: low weight
    regionen: frozenset[str] = frozenset()  # ARS prefixes where it applies; empty = everywhere


@dataclass(frozen=True)
class SuchTreffer:
    id: int
    score: float
    konfidenz: str  # "sicher" | "unsicher" | "kein Treffer"
    snippet: str  # HTML-escaped text with matched words in <mark>…</mark>


SICHER = "sicher"
UNSICHER = "unsicher"
KEIN_TREFFER = "kein Treffer"

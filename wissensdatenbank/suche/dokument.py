"""Mapping of a catalogue entry (demo YAML / canonical dict) to a SuchDokument."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wissensdatenbank.suche.typen import SuchDokument

_TEXTFELDER = ("teaser", "kurztext", "volltext", "voraussetzungen", "unterlagen", "verfahrensablauf", "hinweise", "lebenslagen")


def _als_text(wert: Any) -> str:
    if wert is None:
        return ""
    if isinstance(wert, str):
        return wert.strip()
    if isinstance(wert, dict):
        return " ".join(_als_text(v) for k, v in wert.items() if k in ("name", "text", "titel"))
    if isinstance(wert, Iterable):
        return "\n".join(t for t in (_als_text(v) for v in wert) if t)
    return str(wert)


def dokument_aus_dict(d: dict, id: int) -> SuchDokument:
    """name=leistungsname, suchbegriffe, bezeichnung=leistungsbezeichnung, text=the text modules joined."""
    such = d.get("suchbegriffe") or ()
    if isinstance(such, str):
        such = [s.strip() for s in such.split(",")]
    regionen = d.get("regionen") or ()
    if isinstance(regionen, str):
        regionen = [regionen]
    text = "\n".join(t for t in (_als_text(d.get(f)) for f in _TEXTFELDER) if t)
    return SuchDokument(
        id=id,
        name=_als_text(d.get("leistungsname") or d.get("name")),
        suchbegriffe=tuple(str(s) for s in such if str(s).strip()),
        bezeichnung=_als_text(d.get("leistungsbezeichnung") or d.get("bezeichnung")),
        text=text,
        regionen=frozenset(str(r) for r in regionen),
    )

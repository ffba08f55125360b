"""LeiKa keys: 14 digits = Land (2; 99 = Bund) + Gruppierung (3) + Leistungsobjekt (3) + Verrichtung (3) + Detail (3)."""

from __future__ import annotations

import re

_LEIKA = re.compile(r"^\d{14}$")
_LAENDER = {f"{i:02d}" for i in range(1, 17)} | {"99"}


class LeikaFehler(ValueError):
    pass


def normalisiere_leika(wert: str | None) -> str | None:
    """Return the canonical 14-digit key, None for empty input; raise LeikaFehler if invalid.

    Accepts the URN form `urn:de:fim:leika:leistung:<key>` and blanks between the parts.
    """
    if wert is None:
        return None
    s = str(wert).strip()
    if not s:
        return None
    if s.lower().startswith("urn:de:fim:leika:leistung:"):
        s = s.rsplit(":", 1)[-1]
    s = re.sub(r"[\s.\-]", "", s)
    if not _LEIKA.match(s):
        raise LeikaFehler(f"LeiKa-Schlüssel {wert!r} ist ungültig: erwartet werden genau 14 Ziffern.")
    if s[:2] not in _LAENDER:
        raise LeikaFehler(f"LeiKa-Schlüssel {wert!r} ist ungültig: Kennung {s[:2]!r} ist weder ein Land noch 99.")
    return s


def leika_teile(schluessel: str) -> dict[str, str]:
    return {
        "land": schluessel[0:2],
        "gruppierung": schluessel[2:5],
        "leistungsobjekt": schluessel[5:8],
        "verrichtung": schluessel[8:11],
        "detail": schluessel[11:14],
    }

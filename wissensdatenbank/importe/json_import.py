"""Plain JSON in our canonical shape: {"organisationseinheiten": [...], "leistungen": [...]} or a list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from wissensdatenbank.importe.basis import Eintrag, Fehler, OEEintrag
from wissensdatenbank.importe.kanonisch import eintraege_aus_dokument

FORMAT = "json"


def lesen(pfad: Path) -> Iterator[tuple[str, Eintrag]]:
    try:
        roh = pfad.read_bytes()
    except OSError as exc:
        yield str(pfad), Fehler(f"Die Datei kann nicht gelesen werden: {exc.strerror}", fatal=True)
        return
    try:
        inhalt = roh.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        zeile = roh[: exc.start].count(b"\n") + 1
        yield f"Zeile {zeile}", Fehler("Die Datei ist nicht UTF-8-kodiert (ungültiges Byte).", fatal=True)
        return
    try:
        dok = json.loads(inhalt)
    except json.JSONDecodeError as exc:
        yield f"Zeile {exc.lineno}, Spalte {exc.colno}", Fehler(f"Ungültiges JSON: {exc.msg}", fatal=True)
        return
    eintraege = eintraege_aus_dokument(dok, pfad.name)
    yield from (e for e in eintraege if isinstance(e[1], OEEintrag))
    yield from (e for e in eintraege if not isinstance(e[1], OEEintrag))

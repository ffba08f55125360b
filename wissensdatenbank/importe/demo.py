"""The project's own demo catalogue for Halle (Saale) (example data without guarantee)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from wissensdatenbank.importe.basis import Eintrag, Fehler, OEEintrag
from wissensdatenbank.importe.kanonisch import eintraege_aus_dokument

FORMAT = "demo"
DEMO_ORDNER = Path(__file__).resolve().parent.parent / "demo"


def dateien(ordner: Path = DEMO_ORDNER) -> list[Path]:
    return sorted(ordner.glob("*.yaml"))


def lesen(ordner: Path = DEMO_ORDNER) -> Iterator[tuple[str, Eintrag]]:
    oes: list[tuple[str, Eintrag]] = []
    rest: list[tuple[str, Eintrag]] = []
    for datei in dateien(ordner):
        try:
            dok = yaml.safe_load(datei.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            rest.append((datei.name, Fehler(f"Die Datei ist kein gültiges YAML: {exc}", fatal=True)))
            continue
        for pos, e in eintraege_aus_dokument(dok, datei.name):
            (oes if isinstance(e, OEEintrag) else rest).append((pos, e))
    # Organisationseinheiten first, so the Leistungen can reference them.
    yield from oes
    yield from rest

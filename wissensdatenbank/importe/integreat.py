"""Integreat CMS page export (`pages.json` of one region and language, e.g. pages_lkaugsburg_de.json).

A JSON list of pages: id, url, path, title, content (HTML), excerpt, last_updated, parent{id,url,path}.
Every page with content becomes a Leistung; pages without content (chapter pages) only name the
Lebenslage of their children. PATH is one file or a directory of `pages*.json` files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from wissensdatenbank.importe.basis import Eintrag, Fehler, LeistungEintrag
from wissensdatenbank.importe.html_text import einfacher_text, html_zu_text, kurzfassung

FORMAT = "integreat"
_BERLIN = ZoneInfo("Europe/Berlin")


def _s(wert: Any) -> str:
    return wert.strip() if isinstance(wert, str) else ("" if wert is None or isinstance(wert, bool | dict | list)
                                                     else str(wert))


def _schluessel(wert: Any) -> str:
    """Path or URL of a page, normalised for matching a child's parent reference."""
    return _s(wert).rstrip("/").lower()


def _zeitpunkt(wert: Any) -> datetime | None:
    s = _s(wert)
    if not s:
        return None
    try:
        d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=_BERLIN)


def _lade(pfad: Path) -> tuple[list[Any] | None, list[tuple[str, Fehler]]]:
    """Pages of one file, or None and a fatal error."""
    meldungen: list[tuple[str, Fehler]] = []
    try:
        roh = pfad.read_bytes()
    except OSError as exc:
        return None, [(pfad.name, Fehler(f"Die Datei kann nicht gelesen werden: {exc.strerror}", fatal=True))]
    try:
        inhalt = roh.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Read on; the affected pages are rejected one by one by the core's encoding check.
        zeile = roh[: exc.start].count(b"\n") + 1
        meldungen.append((f"{pfad.name}, Zeile {zeile}", Fehler(
            "Die Datei ist nicht durchgehend UTF-8-kodiert (ungültiges Byte); "
            "betroffene Seiten werden einzeln gemeldet.")))
        inhalt = roh.decode("utf-8-sig", errors="surrogateescape")
    try:
        dok = json.loads(inhalt)
    except json.JSONDecodeError as exc:
        return None, [(f"{pfad.name}, Zeile {exc.lineno}, Spalte {exc.colno}",
                       Fehler(f"Ungültiges JSON: {exc.msg}", fatal=True))]
    if isinstance(dok, dict) and isinstance(dok.get("pages"), list):
        dok = dok["pages"]
    if not isinstance(dok, list):
        return None, [(pfad.name, Fehler("Erwartet wird eine Liste von Seiten (Integreat-Export).", fatal=True))]
    return dok, meldungen


def _dateien(pfad: Path) -> list[Path]:
    if pfad.is_dir():
        return sorted(p for p in pfad.glob("pages*.json") if p.is_file())
    return [pfad]


def lesen(pfad: Path) -> Iterator[tuple[str, Eintrag]]:
    dateien = _dateien(pfad)
    if not dateien:
        yield str(pfad), Fehler("Im Verzeichnis liegt keine Datei pages*.json.", fatal=True)
        return
    geladen: list[tuple[Path, list[Any]]] = []
    meldungen: list[tuple[str, Fehler]] = []
    for p in dateien:
        seiten, m = _lade(p)
        meldungen += m
        if seiten is not None:
            geladen.append((p, seiten))
    if any(f.fatal for _, f in meldungen):
        yield from ((pos, f) for pos, f in meldungen if f.fatal)
        return
    yield from meldungen

    # Titles by path and URL, so a child's parent reference can be resolved.
    titel: dict[str, str] = {}
    for _, seiten in geladen:
        for s in seiten:
            if not isinstance(s, dict):
                continue
            t = einfacher_text(_s(s.get("title")))
            # Parent ids are tree-node ids, not page ids: match on path and URL only.
            for k in (_schluessel(s.get("path")), _schluessel(s.get("url"))):
                if t and k:
                    titel.setdefault(k, t)

    for p, seiten in geladen:
        for nr, s in enumerate(seiten, 1):
            qid = _s(s.get("id")) if isinstance(s, dict) else ""
            pos = f"{p.name}, Seite {nr}" + (f" (id {qid})" if qid else "")
            if not isinstance(s, dict):
                yield pos, Fehler("Die Seite ist kein Objekt.")
                continue
            volltext = html_zu_text(_s(s.get("content")))
            if not volltext:
                continue  # chapter pages without text of their own
            if not qid:
                yield pos, Fehler("Die Seite hat keine ID.")
                continue
            eltern = s.get("parent") if isinstance(s.get("parent"), dict) else {}
            lebenslage = next((titel[k] for k in (_schluessel(eltern.get("path")), _schluessel(eltern.get("url")))
                               if k and k in titel), "")
            auszug = html_zu_text(_s(s.get("excerpt")))
            felder = {
                "leistungsname": einfacher_text(_s(s.get("title"))),
                "volltext": volltext,
                "kurztext": kurzfassung(volltext) or kurzfassung(auszug),
                "quelle_url": _s(s.get("url")),
                "quelle_stand": _zeitpunkt(s.get("last_updated") or s.get("modified_gmt")),
                "lebenslagen": [lebenslage] if lebenslage else [],
            }
            yield pos, LeistungEintrag(quell_id=qid, felder=felder)

"""CSV: one Leistung per row. Header names are our field names; lists are separated by ';' or '|'.

Columns: quell_id (or id), leistungsname, leika, art, leistungsbezeichnung, teaser, kurztext, volltext,
voraussetzungen, unterlagen, verfahrensablauf, kosten_betrag, kosten_betrag_bis, kosten_text, fristen,
bearbeitungsdauer, suchbegriffe, lebenslagen, termin_url, quelle_url, zustaendig.
Delimiter ',' ';' or tab is detected. The file must be UTF-8; rows with other bytes are reported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from wissensdatenbank.importe.basis import Eintrag, Fehler
from wissensdatenbank.importe.kanonisch import leistung_aus_dict

FORMAT = "csv"
_LISTEN = ("unterlagen", "suchbegriffe", "lebenslagen", "zustaendig")


def lesen(pfad: Path) -> Iterator[tuple[str, Eintrag]]:
    try:
        roh = pfad.read_bytes()
    except OSError as exc:
        yield str(pfad), Fehler(f"Die Datei kann nicht gelesen werden: {exc.strerror}", fatal=True)
        return
    # surrogateescape keeps undecodable bytes visible per row instead of failing the whole file.
    inhalt = roh.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    try:
        dialekt = csv.Sniffer().sniff(inhalt.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialekt = csv.excel
    leser = csv.DictReader(io.StringIO(inhalt, newline=""), dialect=dialekt)
    if not leser.fieldnames or "leistungsname" not in [f.strip() for f in leser.fieldnames]:
        yield "Zeile 1", Fehler("Die Kopfzeile braucht mindestens die Spalte 'leistungsname'.", fatal=True)
        return
    try:
        for zeile in leser:
            position = f"Zeile {leser.line_num}"
            if None in zeile:
                yield position, Fehler("Die Zeile hat mehr Felder als die Kopfzeile.", zeile.get("quell_id"))
                continue
            d = {k.strip(): (v or "").strip() for k, v in zeile.items() if k}
            if not any(d.values()):
                continue
            if any(_hat_surrogat(v) for v in d.values()):
                yield position, Fehler("Die Zeile ist nicht UTF-8-kodiert (ungültige Zeichen).", d.get("quell_id"))
                continue
            for k in _LISTEN:
                if k in d:
                    d[k] = [t.strip() for t in d[k].replace("|", ";").split(";") if t.strip()]
            if d.get("termin_url"):
                d["termin_moeglich"] = True
            yield position + (f" ({d['quell_id']})" if d.get("quell_id") else ""), leistung_aus_dict(d)
    except csv.Error as exc:
        yield f"Zeile {leser.line_num}", Fehler(f"Ungültiges CSV: {exc}", fatal=True)


def _hat_surrogat(s: str) -> bool:
    return any(0xDC80 <= ord(c) <= 0xDCFF for c in s)

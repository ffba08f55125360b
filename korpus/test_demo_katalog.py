"""The demo catalogue against the required list and the dev question set."""

from __future__ import annotations

import csv
import json

from korpus.conftest import cli
from wissensdatenbank.importe import demo
from wissensdatenbank.importe.basis import LeistungEintrag


def _pflicht(korpus):
    with open(korpus / "demo-katalog/pflichtleistungen.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_alle_pflichtleistungen_mit_exaktem_namen_und_leika(korpus):
    katalog = {e.felder["leistungsname"]: e for _, e in demo.lesen() if isinstance(e, LeistungEintrag)}
    fehlend = []
    for zeile in _pflicht(korpus):
        eintrag = katalog.get(zeile["leistungsname"])
        if eintrag is None:
            fehlend.append(zeile["leistungsname"])
            continue
        if zeile["leika"]:
            assert eintrag.felder.get("leika") == zeile["leika"], zeile["leistungsname"]
        assert (eintrag.felder.get("art") or "leistung") == zeile["art"], zeile["leistungsname"]
    assert not fehlend, f"fehlen im Demo-Katalog: {fehlend}"
    assert len(_pflicht(korpus)) == 63


def test_fragen_dev_hit_at_1_ueber_die_cli(korpus, demo_db):
    fragen = []
    with open(korpus / "demo-katalog/fragen-dev.tsv", encoding="utf-8") as f:
        for zeile in csv.DictReader(f, delimiter="\t"):
            fragen.append((zeile["frage"], set(zeile["erwartet"].split("|"))))
    lauf = cli(demo_db, "wissen", "suche", "--json", eingabe="\n".join(f for f, _ in fragen) + "\n")
    assert lauf.returncode == 0, lauf.stderr
    antworten = [json.loads(z) for z in lauf.stdout.splitlines()]
    assert len(antworten) == len(fragen)
    treffer = 0
    falsch = []
    for (frage, erwartet), antwort in zip(fragen, antworten, strict=True):
        assert antwort["frage"] == frage
        assert len(antwort["treffer"]) <= 10
        for t in antwort["treffer"]:
            assert set(t) == {"id", "name", "leika", "score", "konfidenz"}
            assert t["konfidenz"] in {"sicher", "unsicher", "kein Treffer"}
        erster = antwort["treffer"][0]["name"] if antwort["treffer"] else None
        if erster in erwartet:
            treffer += 1
        else:
            falsch.append((frage, erster))
    quote = treffer / len(fragen)
    print(f"fragen-dev hit@1 = {quote:.3f} ({treffer}/{len(fragen)}); falsch: {falsch}")
    assert quote >= 0.95, falsch

"""Triage of a citizen mail: Leistung (knowledge base search), Organisationseinheit (queue), confidence,
priority and language.

The search engine is tuned for questions, not letters. So the mail is first reduced to what asks something:
subject without reply prefixes and ticket tag, body without quotes, greeting, closing and signature. Subject and
body are searched separately and together; the hit lists are fused by reciprocal rank with the subject weighted
(it is the sender's own summary) unless it says nothing ("Frage", "Anfrage").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from kanaele.email.faden import betreff_normal
from kanaele.email.filter.zitate import neuer_teil, ohne_gruss
from wissensdatenbank.models import Leistung, Organisationseinheit, Zustaendigkeit

LEERE_BETREFFE = re.compile(
    r"^(frage|fragen|anfrage|anliegen|antrag|hallo|hilfe|info|information(en)?|kontakt|bitte|dringend|"
    r"wichtig|nachfrage|problem|ihre anfrage|ihre nachricht|kein betreff|ohne betreff|\W*)$",
    re.IGNORECASE,
)
DRINGEND = re.compile(r"\b(dringend|eilt|eilig|sofort|umgehend|schnellstmöglich|asap|notfall|urgent)\b", re.I)
RECHTLICH = re.compile(
    r"\b(widerspruch|einspruch|klage|klagen|verklagen|anwalt|anwältin|rechtsanwalt|rechtsmittel|gericht|"
    r"dienstaufsichtsbeschwerde|beschwerde|mahnung|vollstreckung|pfändung|bußgeld|frist(en|ablauf)?|"
    r"fristgerecht|fristwahrend|verjährung)\b",
    re.I,
)
TERMIN = re.compile(r"\b(heute|morgen|übermorgen|bis (zum |spätestens )?\d{1,2}\.\s?\d{1,2}\.?|"
                    r"innerhalb von \d+ tagen|läuft (morgen|heute|diese woche) ab)\b", re.I)
DEUTSCH = {"der", "die", "das", "und", "ich", "nicht", "ist", "mit", "für", "wie", "ein", "eine", "sie", "bitte",
           "auf", "zu", "mein", "meine", "habe", "kann", "wir", "ihr", "guten", "tag", "hallo", "grüße"}
ENGLISCH = {"the", "and", "is", "i", "my", "to", "for", "please", "you", "with", "can", "have", "a", "of", "dear",
            "hello", "regards", "thank", "how", "what", "do", "need"}


@dataclass
class Vorschlag:
    leistung_id: int
    name: str
    score: float
    konfidenz: str
    art: str

    def als_dict(self) -> dict:
        return {"leistung_id": self.leistung_id, "name": self.name, "score": round(self.score, 4),
                "konfidenz": self.konfidenz, "art": self.art}


@dataclass
class TriageErgebnis:
    vorschlaege: list[Vorschlag] = field(default_factory=list)
    konfidenz: str = "kein Treffer"
    queue_id: int | None = None
    prioritaet: str = "normal"
    sprache: str = "de"
    suchtext: str = ""

    @property
    def leistung(self) -> Vorschlag | None:
        return self.vorschlaege[0] if self.vorschlaege else None


def suchtexte(betreff: str, text: str) -> tuple[str, str]:
    """(subject, body) reduced to the question: no prefixes/tags, quotes, greetings, closings."""
    b = betreff_normal(betreff)
    if LEERE_BETREFFE.match(b or ""):
        b = ""
    koerper = ohne_gruss(neuer_teil(text))
    koerper = re.sub(r"https?://\S+|\S+@\S+", " ", koerper)
    koerper = " ".join(koerper.split())
    return b, koerper[:600]


def sprache_erkennen(text: str) -> str:
    woerter = re.findall(r"[a-zäöüß]+", text.lower())[:300]
    de = sum(w in DEUTSCH for w in woerter) + 3 * sum(c in "äöüß" for c in "".join(woerter[:100]))
    en = sum(w in ENGLISCH for w in woerter)
    if de == en == 0:
        return "unbekannt"
    return "de" if de >= en else "en"


def prioritaet_erkennen(betreff: str, text: str) -> str:
    gesamt = f"{betreff}\n{text}"
    punkte = 0
    if DRINGEND.search(gesamt):
        punkte += 1
    if RECHTLICH.search(gesamt):
        punkte += 1
    if TERMIN.search(gesamt):
        punkte += 1
    return ("normal", "hoch", "dringend", "dringend")[punkte]


def _fusion(listen: list[tuple[float, list]], limit: int) -> list[tuple[object, float]]:
    """Weighted reciprocal-rank fusion; keeps the best hit object per Leistung."""
    punkte: dict[int, float] = {}
    beste: dict[int, object] = {}
    for gewicht, treffer in listen:
        for rang, t in enumerate(treffer):
            punkte[t.id] = punkte.get(t.id, 0.0) + gewicht / (rang + 3)
            alt = beste.get(t.id)
            if alt is None or _konf_rang(t.konfidenz) > _konf_rang(alt.konfidenz):
                beste[t.id] = t
    reihenfolge = sorted(punkte, key=lambda i: -punkte[i])[:limit]
    return [(beste[i], punkte[i]) for i in reihenfolge]


def _konf_rang(k: str) -> int:
    return {"sicher": 2, "unsicher": 1}.get(k, 0)


def _suche(wdb, frage: str) -> list:
    # The triage shows no hit list: no highlighted snippets (same hits and order, a good part of a search's cost).
    return wdb.suche(frage, limit=10, snippets=False)


def triage(wdb, betreff: str, text: str, *, limit: int = 3) -> TriageErgebnis:
    """Search the knowledge base for the mail; no database access besides the search index."""
    b, koerper = suchtexte(betreff, text)
    ergebnis = TriageErgebnis(prioritaet=prioritaet_erkennen(betreff, text),
                              sprache=sprache_erkennen(f"{betreff} {text}"))
    listen: list[tuple[float, list]] = []
    # Subject and body together first: when that search alone is sure, the other two are not needed (each
    # search costs ~10 ms); otherwise subject and body are searched on their own as well and fused.
    if b and koerper:
        listen.append((1.0, _suche(wdb, f"{b}. {koerper}")))
        if not (listen[0][1] and listen[0][1][0].konfidenz == "sicher"):
            listen.append((1.2, _suche(wdb, b)))
            listen.append((1.0, _suche(wdb, koerper)))
    elif b:
        listen.append((1.2, _suche(wdb, b)))
    elif koerper:
        listen.append((1.0, _suche(wdb, koerper)))
    ergebnis.suchtext = f"{b}\n{koerper}".strip()
    if not listen:
        return ergebnis
    fusion = _fusion(listen, limit)
    for t, punkte in fusion:
        ergebnis.vorschlaege.append(Vorschlag(leistung_id=t.id, name=t.name, score=punkte,
                                              konfidenz=t.konfidenz, art=t.art))
    if ergebnis.vorschlaege:
        erster = fusion[0][0]
        # "sicher" only when the top hit is sure on its own AND every search that found something agrees.
        einig = all(not tr or tr[0].id == erster.id for _, tr in listen)
        k = erster.konfidenz
        ergebnis.konfidenz = "sicher" if k == "sicher" and einig else ("unsicher" if k != "kein Treffer" else k)
    return ergebnis


def zustaendige_stelle(session: Session, leistung_id: int, region: str | None = None) -> Organisationseinheit | None:
    """The Organisationseinheit responsible for the Leistung (region match first): the ticket queue. Loaded as an
    object, so a caller that keeps it finds it in the session (ticket_anlegen's queue check) without a query."""
    zeilen = session.execute(
        select(Organisationseinheit, Zustaendigkeit.region)
        .join(Zustaendigkeit, Zustaendigkeit.organisationseinheit_id == Organisationseinheit.id)
        .where(Zustaendigkeit.leistung_id == leistung_id)
        .order_by(Zustaendigkeit.id)
    ).all()
    if not zeilen:
        return None
    if region:
        passend = [oe for oe, r in zeilen if r and region.startswith(r)]
        if passend:
            return passend[0]
    return zeilen[0][0]


def zustaendige_queue(session: Session, leistung_id: int, region: str | None = None) -> int | None:
    """The id of zustaendige_stelle."""
    stelle = zustaendige_stelle(session, leistung_id, region)
    return stelle.id if stelle is not None else None


def leistung_laden(session: Session, leistung_id: int) -> Leistung | None:
    return session.get(Leistung, leistung_id)


def triage_filter(ctx) -> None:
    """Filter: triage citizen mails without a ticket (follow-ups and machine mail need none)."""
    if ctx.automatisch or (ctx.ticket is not None and ctx.ticket.zustand.value != "geschlossen"):
        return
    ctx.triage = triage(ctx.wdb, ctx.mail.betreff or "", ctx.neuer_text or ctx.mail.text or "",
                        limit=ctx.einstellungen.vorschlaege)

"""Redaktion services: versioned edits of a Leistung, publishing, and the Wissenslücken counter.

Plain functions over a session (never commit; may flush). After the caller commits, it asks the search facade
to pick the change up at once (`Wissensdatenbank.synchronisieren(sofort=True)`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicecenter.auth.models import Benutzer
from servicecenter.redaktion.models import LeistungVersion, Wissensluecke
from wissensdatenbank.basis import jetzt as _jetzt
from wissensdatenbank.models import Leistung, LeistungStatus

# --- errors ----------------------------------------------------------------------------------------------------


class RedaktionFehler(Exception):
    status = 422

    def __init__(self, meldung: str) -> None:
        super().__init__(meldung)
        self.meldung = meldung


class StandKonflikt(RedaktionFehler):
    status = 409


# --- editable fields -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feld:
    name: str
    bezeichnung: str
    art: str  # "zeile" | "text" | "liste" | "betrag" | "url"
    max_laenge: int = 20_000
    pflicht: bool = False


FELDER: tuple[Feld, ...] = (
    Feld("leistungsname", "Leistungsname", "zeile", 300, pflicht=True),
    Feld("leistungsbezeichnung", "Leistungsbezeichnung", "zeile", 500),
    Feld("teaser", "Teaser", "text", 2000),
    Feld("kurztext", "Kurztext (wird am Telefon zuerst vorgelesen)", "text"),
    Feld("unterlagen", "Erforderliche Unterlagen (eine je Zeile)", "liste"),
    Feld("kosten_betrag", "Kosten in Euro (ab)", "betrag"),
    Feld("kosten_betrag_bis", "Kosten in Euro (bis)", "betrag"),
    Feld("kosten_text", "Kosten (Erläuterung)", "text", 2000),
    Feld("bearbeitungsdauer", "Bearbeitungsdauer", "text", 2000),
    Feld("fristen", "Fristen", "text", 2000),
    Feld("voraussetzungen", "Voraussetzungen", "text"),
    Feld("verfahrensablauf", "Verfahrensablauf", "text"),
    Feld("volltext", "Volltext", "text", 50_000),
    Feld("hinweise", "Hinweise", "text"),
    Feld("termin_url", "Adresse der Terminvereinbarung", "url", 1000),
    Feld("suchbegriffe", "Suchbegriffe (einer je Zeile)", "liste"),
)
FELD_NACH_NAME = {f.name: f for f in FELDER}
FELD_BEZEICHNUNG = {f.name: f.bezeichnung for f in FELDER} | {"status": "Status"}
STATUS_TEXT = {LeistungStatus.entwurf: "Entwurf", LeistungStatus.veroeffentlicht: "veröffentlicht"}

MAX_LISTE = 200


def _liste(text: str) -> list[str]:
    return [z.strip() for z in text.replace("\r\n", "\n").split("\n") if z.strip()]


def formular_werte(leistung: Leistung) -> dict[str, str]:
    """The current values as form text (lists one per line, amounts with a decimal comma)."""
    werte: dict[str, str] = {}
    for f in FELDER:
        wert = getattr(leistung, f.name)
        if f.art == "liste":
            werte[f.name] = "\n".join(wert or [])
        elif f.art == "betrag":
            werte[f.name] = "" if wert is None else f"{Decimal(wert):.2f}".replace(".", ",")
        else:
            werte[f.name] = wert or ""
    return werte


def eingabe_pruefen(eingabe: dict[str, str]) -> dict[str, object]:
    """Form text → typed values; raises RedaktionFehler (German) for invalid input. Unknown keys are ignored."""
    werte: dict[str, object] = {}
    for f in FELDER:
        if f.name not in eingabe:
            continue
        roh = (eingabe[f.name] or "").strip()
        if len(roh) > f.max_laenge:
            raise RedaktionFehler(f"„{f.bezeichnung}“ ist zu lang (höchstens {f.max_laenge} Zeichen).")
        if f.pflicht and not roh:
            raise RedaktionFehler(f"Bitte füllen Sie „{f.bezeichnung}“ aus.")
        if f.art == "liste":
            liste = _liste(roh)
            if len(liste) > MAX_LISTE or any(len(x) > 1000 for x in liste):
                raise RedaktionFehler(f"„{f.bezeichnung}“ hat zu viele oder zu lange Einträge.")
            werte[f.name] = liste
        elif f.art == "betrag":
            if not roh:
                werte[f.name] = None
                continue
            try:
                betrag = Decimal(roh.replace("€", "").replace(" ", "").replace(".", "").replace(",", "."))
            except InvalidOperation:
                raise RedaktionFehler(f"„{f.bezeichnung}“ ist kein Betrag (Beispiel: 37,00).") from None
            if not betrag.is_finite() or betrag < 0 or betrag >= Decimal("100000000"):
                raise RedaktionFehler(f"„{f.bezeichnung}“ muss ein Betrag zwischen 0 und 99.999.999,99 sein.")
            werte[f.name] = betrag.quantize(Decimal("0.01"))
        elif f.art == "url":
            if roh and not re.match(r"^https?://[^\s<>\"']+$", roh):
                raise RedaktionFehler(f"„{f.bezeichnung}“ muss mit http:// oder https:// beginnen.")
            werte[f.name] = roh
        else:
            werte[f.name] = roh
    return werte


def _vergleichbar(wert: object) -> object:
    if isinstance(wert, Decimal):
        return f"{wert:.2f}"
    if isinstance(wert, LeistungStatus):
        return wert.value
    return wert


# --- versions --------------------------------------------------------------------------------------------------


def versionen(session: Session, leistung_id: int) -> list[LeistungVersion]:
    return list(session.scalars(
        select(LeistungVersion).where(LeistungVersion.leistung_id == leistung_id)
        .order_by(LeistungVersion.nummer.desc())
    ))


def stand(session: Session, leistung_id: int) -> int:
    """The number of the latest version (0 for an entry never edited here): the form's optimistic-lock token."""
    return session.scalar(
        select(func.coalesce(func.max(LeistungVersion.nummer), 0)).where(LeistungVersion.leistung_id == leistung_id)
    ) or 0


def _version_schreiben(session: Session, leistung: Leistung, aenderungen: dict, benutzer: Benutzer | None,
                       zeit: datetime, erwarteter_stand: int | None) -> LeistungVersion:
    aktuell = stand(session, leistung.id)
    if erwarteter_stand is not None and erwarteter_stand != aktuell:
        raise StandKonflikt(
            f"Diese Leistung wurde inzwischen von jemand anderem geändert (jetzt Version {aktuell}). Ihre Eingaben "
            "wurden nicht gespeichert und stehen noch im Formular: Bitte prüfen Sie die Versionsliste und "
            "speichern Sie erneut."
        )
    v = LeistungVersion(
        leistung_id=leistung.id, nummer=aktuell + 1, benutzer_id=benutzer.id if benutzer else None,
        benutzer_name=(benutzer.anzeigename or benutzer.name) if benutzer else "System",
        zeitpunkt=zeit, aenderungen=aenderungen,
    )
    session.add(v)
    # The unique (leistung_id, nummer) makes a concurrent writer of the same number fail instead of interleaving.
    session.flush()
    return v


def leistung_aendern(
    session: Session,
    leistung: Leistung,
    *,
    werte: dict[str, object],
    benutzer: Benutzer | None,
    erwarteter_stand: int | None = None,
    jetzt: datetime | None = None,
) -> LeistungVersion | None:
    """Apply typed values (from `eingabe_pruefen`); writes one version with the diff, None when nothing changed."""
    zeit = jetzt or _jetzt()
    aenderungen: dict[str, dict[str, object]] = {}
    for name, neu in werte.items():
        if name not in FELD_NACH_NAME:
            raise RedaktionFehler(f"Das Feld {name[:50]} kann hier nicht geändert werden.")
        alt = getattr(leistung, name)
        if _vergleichbar(alt) != _vergleichbar(neu):
            aenderungen[name] = {"alt": _vergleichbar(alt), "neu": _vergleichbar(neu)}
    if not aenderungen:
        if erwarteter_stand is not None and erwarteter_stand != stand(session, leistung.id):
            raise StandKonflikt("Diese Leistung wurde inzwischen geändert. Bitte laden Sie die Seite neu.")
        return None
    version = _version_schreiben(session, leistung, aenderungen, benutzer, zeit, erwarteter_stand)
    for name in aenderungen:
        setattr(leistung, name, werte[name])
    leistung.aktualisiert_am = _jetzt()  # wall clock: the search index syncs on this column
    session.flush()
    return version


def status_setzen(
    session: Session,
    leistung: Leistung,
    *,
    status: LeistungStatus,
    benutzer: Benutzer | None,
    erwarteter_stand: int | None = None,
    jetzt: datetime | None = None,
) -> LeistungVersion | None:
    """Publish or unpublish; versioned like any other change."""
    zeit = jetzt or _jetzt()
    status = LeistungStatus(status)
    if leistung.status == status:
        return None
    if status == LeistungStatus.veroeffentlicht and not (leistung.leistungsname or "").strip():
        raise RedaktionFehler("Eine Leistung ohne Namen kann nicht veröffentlicht werden.")
    aenderungen = {"status": {"alt": leistung.status.value, "neu": status.value}}
    version = _version_schreiben(session, leistung, aenderungen, benutzer, zeit, erwarteter_stand)
    leistung.status = status
    leistung.aktualisiert_am = _jetzt()
    session.flush()
    return version


def leistungen_liste(session: Session, *, suche: str = "", limit: int = 200) -> list[Leistung]:
    q = select(Leistung).order_by(Leistung.leistungsname).limit(limit)
    suche = suche.strip()
    if suche:
        muster = "%" + suche.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(Leistung.leistungsname.ilike(muster, escape="\\"))
    return list(session.scalars(q))


# --- Wissenslücken ---------------------------------------------------------------------------------------------

MAX_ANFRAGE = 200
_EMAIL = re.compile(r"\S+@\S+")
_ZIFFERN = re.compile(r"[\d][\d\s/()+.-]{3,}\d")  # phone numbers, case numbers, dates of birth …


def anfrage_normalisieren(text: str) -> str:
    """Lower case, one space, no personal data: e-mail addresses and digit runs become placeholders."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(c if c.isprintable() else " " for c in text)
    text = _EMAIL.sub(" [e-mail] ", text)
    text = _ZIFFERN.sub(" [zahl] ", text)
    text = " ".join(text.lower().split())
    return text[:MAX_ANFRAGE].strip()


def ist_luecke(konfidenzen: list[str]) -> bool:
    """True when the best hit is "kein Treffer" or there is none."""
    return not konfidenzen or konfidenzen[0] == "kein Treffer"


def luecke_erfassen(session: Session, *, anfrage: str, jetzt: datetime | None = None) -> Wissensluecke | None:
    """Count one search without a good hit (None for queries too short to mean anything)."""
    zeit = jetzt or _jetzt()
    text = anfrage_normalisieren(anfrage)
    if len(text.replace("[zahl]", "").replace("[e-mail]", "").strip()) < 3:
        return None
    # UPDATE first: concurrent agents counting the same query both land on the one row.
    n = session.execute(
        update(Wissensluecke).where(Wissensluecke.anfrage == text)
        .values(anzahl=Wissensluecke.anzahl + 1, zuletzt_am=zeit)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not n:
        try:
            with session.begin_nested():
                session.add(Wissensluecke(anfrage=text, anzahl=1, erstmals_am=zeit, zuletzt_am=zeit))
        except IntegrityError:  # the row appeared meanwhile (unique anfrage): count on it
            session.execute(
                update(Wissensluecke).where(Wissensluecke.anfrage == text)
                .values(anzahl=Wissensluecke.anzahl + 1, zuletzt_am=zeit)
                .execution_options(synchronize_session=False)
            )
    session.flush()
    return session.scalar(select(Wissensluecke).where(Wissensluecke.anfrage == text))


def luecken_liste(session: Session, *, limit: int = 500) -> list[Wissensluecke]:
    return list(session.scalars(
        select(Wissensluecke).order_by(Wissensluecke.anzahl.desc(), Wissensluecke.zuletzt_am.desc()).limit(limit)
    ))


def luecke_loeschen(session: Session, luecke_id: int) -> bool:
    """Remove an entry the Redaktion has dealt with."""
    eintrag = session.get(Wissensluecke, luecke_id)
    if eintrag is None:
        return False
    session.delete(eintrag)
    session.flush()
    return True

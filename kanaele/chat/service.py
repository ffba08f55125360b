"""Chat rules: conversations and transcript, Rasa routing and reply parsing, hand-off (service hours and agents
online), single owner, hand-back, tickets from chats.

Plain functions over a session (they never commit; the caller decides the transaction boundaries, which matters
here: no transaction may stay open while Rasa is asked, because the bot's actions call back into us).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaele.chat.models import ChatGespraech, ChatNachricht, ChatPraesenz, Eigentuemer, Von
from servicecenter import sla
from servicecenter.status.service import status_link
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Kanal, Ticket
from wissensdatenbank.models import Leistung, Organisationseinheit, Zustaendigkeit

log = logging.getLogger(__name__)

ID_MUSTER = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_BUTTONS = 10
MAX_ANTWORT_ZEICHEN = 8000

TEXT_RASA_NICHT_ERREICHBAR = (
    "Entschuldigung, unser digitaler Assistent ist gerade nicht erreichbar. Ihre Nachricht ist gespeichert. "
    "Sie erreichen uns unter der Behördennummer 115 (Montag bis Freitag 8 bis 18 Uhr), oder Sie senden uns Ihr "
    "Anliegen als Ticket: Wir antworten innerhalb von 24 Stunden (Servicezeit)."
)
TEXT_WARTESCHLANGE = (
    "Ich verbinde Sie mit einer Mitarbeiterin oder einem Mitarbeiter des Servicecenters. Bitte haben Sie einen "
    "Moment Geduld – Sie können hier schon schreiben, worum es geht."
)
TEXT_AUSSERHALB = (
    "Gerade ist leider niemand aus dem Servicecenter im Chat erreichbar (Servicezeit: Montag bis Freitag 8 bis "
    "18 Uhr). Sie können uns Ihr Anliegen als Ticket senden: Wir antworten innerhalb von 24 Stunden "
    "(Servicezeit). Sie erhalten eine Vorgangsnummer und einen Zugangscode für die Statusabfrage."
)
TEXT_UEBERNOMMEN = "Eine Mitarbeiterin oder ein Mitarbeiter des Servicecenters hat das Gespräch übernommen."
TEXT_ZURUECK_AN_BOT = "Sie chatten jetzt wieder mit dem digitalen Assistenten der Stadt."
TEXT_BEREITS_VERGEBEN = (
    "Diesen Chat hat bereits eine Kollegin oder ein Kollege übernommen (oder er wartet nicht mehr)."
)
BUTTON_TICKET = {"title": "Anliegen als Ticket senden", "payload": "widget:ticketformular"}


class ChatFehler(Exception):
    def __init__(self, meldung: str, status: int = 422) -> None:
        super().__init__(meldung)
        self.meldung = meldung
        self.status = status


def id_gueltig(gespraech_id: str) -> bool:
    return bool(ID_MUSTER.match(gespraech_id))


def id_kurz(gespraech_id: str) -> str:
    """For logs: the id is a credential (it reads the transcript), so only a short hash is logged."""
    return hashlib.sha256(gespraech_id.encode()).hexdigest()[:12]


def rasa_url_waehlen(urls: list[str], gespraech_id: str) -> str:
    """Stable choice by the hash of the conversation id: one conversation, one Rasa instance (its tracker)."""
    if not urls:
        raise ChatFehler("Es ist kein Rasa-Server eingerichtet.", status=503)
    h = int.from_bytes(hashlib.sha256(gespraech_id.encode()).digest()[:8], "big")
    return urls[h % len(urls)].rstrip("/")


# A conversation counts as running on its instance while it had a message within this window.
AKTIV_FENSTER = timedelta(minutes=30)


def rasa_url_fuer_neues_gespraech(session: Session, urls: list[str], gespraech_id: str, jetzt: datetime) -> str:
    """The instance for a new conversation: the one with the fewest running bot conversations; ties go to the
    hash choice. The choice is stored with the conversation, so it stays on that instance (its tracker). With
    few conversations the hash alone is lopsided (10 conversations on 2 instances: 9 and 1 measured)."""
    basis = rasa_url_waehlen(urls, gespraech_id)
    if len(urls) == 1:
        return basis
    last = dict(session.execute(
        select(ChatGespraech.rasa_url, func.count())
        .where(ChatGespraech.eigentuemer == Eigentuemer.bot, ChatGespraech.letzte_aktivitaet_am >= jetzt - AKTIV_FENSTER)
        .group_by(ChatGespraech.rasa_url)
    ).all())
    return min((u.rstrip("/") for u in urls), key=lambda u: (last.get(u, 0), u != basis))


# --- conversations and transcript ------------------------------------------------------------------------------


def gespraech_laden(session: Session, gespraech_id: str, *, sperren: bool = False) -> ChatGespraech | None:
    if not id_gueltig(gespraech_id):
        return None
    q = select(ChatGespraech).where(ChatGespraech.id == gespraech_id)
    if sperren:
        q = q.with_for_update()
    return session.scalars(q).first()


def rasa_url_gilt(url: str, rasa_urls: list[str]) -> bool:
    """The conversation's Rasa instance is still configured (no instances configured: nothing to re-route to)."""
    return not rasa_urls or url in [u.rstrip("/") for u in rasa_urls]


def gespraech_holen_oder_anlegen(session: Session, gespraech_id: str, *, rasa_urls: list[str],
                                 jetzt: datetime) -> ChatGespraech:
    """The conversation, created on its first message. Two first messages at once: one insert wins, the other
    reads the row (savepoint, so the caller's transaction survives the unique violation)."""
    if not id_gueltig(gespraech_id):
        raise ChatFehler("Die Gesprächskennung ist ungültig (16 bis 64 Zeichen: Buchstaben, Ziffern, - und _).")
    g = gespraech_laden(session, gespraech_id)
    if g is not None:
        if not rasa_url_gilt(g.rasa_url, rasa_urls):
            g.rasa_url = rasa_url_waehlen(rasa_urls, gespraech_id)  # instance removed from the settings
        return g
    g = ChatGespraech(id=gespraech_id, eigentuemer=Eigentuemer.bot,
                      rasa_url=rasa_url_fuer_neues_gespraech(session, rasa_urls, gespraech_id, jetzt),
                      ticket_angeboten=False, erstellt_am=jetzt, letzte_aktivitaet_am=jetzt)
    try:
        with session.begin_nested():
            session.add(g)
    except IntegrityError:
        g = gespraech_laden(session, gespraech_id)
        if g is None:  # pragma: no cover - the other insert was rolled back again
            raise
    return g


def nachricht_speichern(session: Session, gespraech: ChatGespraech, *, von: Von, text: str,
                        buttons: list[dict[str, Any]] | None = None, agent_id: int | None = None,
                        jetzt: datetime, flush: bool = True) -> ChatNachricht:
    n = ChatNachricht(gespraech_id=gespraech.id, von=von, text=text, buttons=buttons or [], agent_id=agent_id,
                      erstellt_am=jetzt)
    session.add(n)
    gespraech.letzte_aktivitaet_am = jetzt
    if flush:
        session.flush()
    return n


def verlauf(session: Session, gespraech_id: str, *, nach_id: int = 0, nur_von: tuple[Von, ...] = ()) -> list[
        ChatNachricht]:
    q = select(ChatNachricht).where(ChatNachricht.gespraech_id == gespraech_id, ChatNachricht.id > nach_id)
    if nur_von:
        q = q.where(ChatNachricht.von.in_(nur_von))
    return list(session.scalars(q.order_by(ChatNachricht.id)))


def nachricht_daten(n: ChatNachricht) -> dict[str, Any]:
    return {"id": n.id, "von": n.von.value, "text": n.text, "buttons": n.buttons or [],
            "zeit": n.erstellt_am.isoformat()}


def leistung_daten(session: Session, leistung_id: int | None) -> dict[str, Any] | None:
    """Id and name of a Leistung, or None if it does not exist (only these two columns are read: the full row
    with its texts is not needed in a chat turn)."""
    if leistung_id is None:
        return None
    zeile = session.execute(select(Leistung.id, Leistung.leistungsname).where(Leistung.id == leistung_id)).first()
    return {"id": zeile.id, "name": zeile.leistungsname} if zeile is not None else None


def eigentuemer_nach_aussen(e: Eigentuemer) -> str:
    """The public API knows bot|mensch: a conversation waiting for an agent is no longer answered by the bot."""
    return "bot" if e == Eigentuemer.bot else "mensch"


# --- Rasa replies ------------------------------------------------------------------------------------------------


@dataclass
class RasaAntwort:
    antworten: list[dict[str, Any]] = field(default_factory=list)  # [{"text", "buttons"}]
    leistung: dict[str, Any] | None = None


def _buttons(roh: Any) -> list[dict[str, str]]:
    aus: list[dict[str, str]] = []
    if not isinstance(roh, list):
        return aus
    for b in roh[:MAX_BUTTONS]:
        if isinstance(b, dict) and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str):
            aus.append({"title": b["title"][:200], "payload": b["payload"][:500]})
    return aus


def rasa_antwort_auswerten(daten: Any) -> RasaAntwort:
    """Rasa's REST channel answer → texts with buttons; custom payloads are read, never shown.

    Contract with the bot: {"custom": {"leistung": {"id", "name"}}} names the Leistung the answer is about.
    """
    ergebnis = RasaAntwort()
    if not isinstance(daten, list):
        return ergebnis
    for eintrag in daten:
        if not isinstance(eintrag, dict):
            continue
        custom = eintrag.get("custom")
        if isinstance(custom, dict):
            leistung = custom.get("leistung")
            if isinstance(leistung, dict) and isinstance(leistung.get("id"), int) and not isinstance(
                    leistung.get("id"), bool):
                ergebnis.leistung = {"id": leistung["id"], "name": str(leistung.get("name") or "")[:300]}
        text = eintrag.get("text")
        buttons = _buttons(eintrag.get("buttons"))
        if isinstance(text, str) and text.strip():
            ergebnis.antworten.append({"text": text[:MAX_ANTWORT_ZEICHEN], "buttons": buttons})
        elif buttons and ergebnis.antworten:
            ergebnis.antworten[-1]["buttons"].extend(buttons)
    return ergebnis


# --- a chat turn's two units of work: plain statements, no ORM unit of work (a turn runs them for every message;
# the ORM's flush, identity map and events were most of the servicecenter's CPU in a turn, py-spy) -------------


def _nachrichten_einfuegen(session: Session, gespraech_id: str, nachrichten: list[tuple[Von, str, list]],
                           jetzt: datetime, **gespraech: Any) -> None:
    """Inserts the messages (ids in list order) and marks the conversation active (plus the given columns)."""
    if nachrichten:
        session.execute(insert(ChatNachricht.__table__), [
            {"gespraech_id": gespraech_id, "von": von, "text": text, "buttons": buttons, "agent_id": None,
             "erstellt_am": jetzt} for von, text, buttons in nachrichten])
    tabelle = ChatGespraech.__table__
    session.execute(update(tabelle).where(tabelle.c.id == gespraech_id).values(letzte_aktivitaet_am=jetzt,
                                                                                  **gespraech))


def buerger_nachricht_speichern(session: Session, gespraech_id: str, text: str, *, rasa_urls: list[str],
                                jetzt: datetime) -> tuple[Eigentuemer, str]:
    """The citizen's message, stored before anyone answers; the conversation is created on its first message.
    Returns who answers (owner) and the conversation's Rasa instance."""
    zeile = session.execute(select(ChatGespraech.eigentuemer, ChatGespraech.rasa_url)
                            .where(ChatGespraech.id == gespraech_id)).first()
    if zeile is None or not rasa_url_gilt(zeile.rasa_url, rasa_urls):
        # new conversation, or its Rasa instance is no longer configured: the full path creates it or picks one
        g = gespraech_holen_oder_anlegen(session, gespraech_id, rasa_urls=rasa_urls, jetzt=jetzt)
        session.flush()
        eigentuemer, url = g.eigentuemer, g.rasa_url
    else:
        eigentuemer, url = zeile.eigentuemer, zeile.rasa_url
    _nachrichten_einfuegen(session, gespraech_id, [(Von.buerger, text, [])], jetzt)
    return eigentuemer, url


def antworten_speichern(session: Session, gespraech_id: str, antwort: RasaAntwort, *, jetzt: datetime,
                        ticket_angeboten: bool = False) -> tuple[dict[str, Any] | None, Eigentuemer]:
    """Stores the bot's replies. Returns the Leistung they are about (id, name) if it exists, and the owner as it
    is now (read in the caller's write transaction: a hand-off the bot's action made during the turn is in it)."""
    eigentuemer = session.scalar(select(ChatGespraech.eigentuemer).where(ChatGespraech.id == gespraech_id))
    if eigentuemer is None:
        raise ChatFehler("Dieses Gespräch gibt es nicht.")
    leistung = leistung_daten(session, antwort.leistung["id"]) if antwort.leistung is not None else None
    werte: dict[str, Any] = {"leistung_id": leistung["id"]} if leistung is not None else {}
    if ticket_angeboten:
        werte["ticket_angeboten"] = True
    _nachrichten_einfuegen(session, gespraech_id, [(Von.bot, a["text"], a["buttons"]) for a in antwort.antworten],
                           jetzt, **werte)
    return leistung, eigentuemer


# --- hand-off ------------------------------------------------------------------------------------------------------


def in_servicezeit(jetzt: datetime, sz: sla.Servicezeiten) -> bool:
    f = sz.fenster(jetzt.astimezone(sz.tz).date())
    return f is not None and f[0] <= jetzt < f[1]


def anwesenheit_melden(session: Session, *, benutzer_id: int, jetzt: datetime) -> None:
    p = session.get(ChatPraesenz, benutzer_id)
    if p is None:
        session.add(ChatPraesenz(benutzer_id=benutzer_id, zuletzt_am=jetzt))
    elif p.zuletzt_am < jetzt - timedelta(seconds=1):  # fewer writes while several tabs poll
        p.zuletzt_am = jetzt
    session.flush()


def agenten_online(session: Session, *, jetzt: datetime, sekunden: int) -> int:
    return session.scalar(
        select(func.count()).select_from(ChatPraesenz).where(ChatPraesenz.zuletzt_am >= jetzt - timedelta(seconds=sekunden))
    ) or 0


@dataclass(frozen=True)
class UebergabeErgebnis:
    ergebnis: str  # "warteschlange" | "ausserhalb"
    text: str


def uebergeben(session: Session, gespraech: ChatGespraech, *, grund: str, leistung_id: int | None,
               servicezeiten: sla.Servicezeiten | None, online_sekunden: int, jetzt: datetime) -> UebergabeErgebnis:
    """Into the chat queue when within service hours (None: not checked) and an agent is online; else the
    citizen is offered a ticket and the bot stays owner. Repeated calls are harmless."""
    if gespraech.eigentuemer != Eigentuemer.bot:
        return UebergabeErgebnis("warteschlange", TEXT_WARTESCHLANGE)
    if leistung_id is not None and session.get(Leistung, leistung_id) is not None:
        gespraech.leistung_id = leistung_id
    offen = servicezeiten is None or in_servicezeit(jetzt, servicezeiten)
    if not offen or agenten_online(session, jetzt=jetzt, sekunden=online_sekunden) == 0:
        gespraech.ticket_angeboten = True
        gespraech.letzte_aktivitaet_am = jetzt
        session.flush()
        return UebergabeErgebnis("ausserhalb", TEXT_AUSSERHALB)
    gespraech.eigentuemer = Eigentuemer.warteschlange
    gespraech.uebergabe_grund = (grund or "").strip()[:500] or None
    gespraech.uebergabe_am = jetzt
    gespraech.letzte_aktivitaet_am = jetzt
    session.flush()
    return UebergabeErgebnis("warteschlange", TEXT_WARTESCHLANGE)


def warteschlange(session: Session) -> list[ChatGespraech]:
    return list(session.scalars(
        select(ChatGespraech).where(ChatGespraech.eigentuemer == Eigentuemer.warteschlange)
        .order_by(ChatGespraech.uebergabe_am, ChatGespraech.id)
    ))


def chats_von(session: Session, benutzer_id: int) -> list[ChatGespraech]:
    return list(session.scalars(
        select(ChatGespraech).where(ChatGespraech.eigentuemer == Eigentuemer.mensch,
                                    ChatGespraech.agent_id == benutzer_id)
        .order_by(ChatGespraech.letzte_aktivitaet_am.desc())
    ))


def uebernehmen(session: Session, gespraech_id: str, *, benutzer_id: int, jetzt: datetime) -> ChatGespraech:
    """Single owner: one conditional UPDATE (waiting → this agent); whoever comes second changes no row."""
    treffer = session.execute(
        update(ChatGespraech)
        .where(ChatGespraech.id == gespraech_id, ChatGespraech.eigentuemer == Eigentuemer.warteschlange)
        .values(eigentuemer=Eigentuemer.mensch, agent_id=benutzer_id, letzte_aktivitaet_am=jetzt)
        .execution_options(synchronize_session=False)
    ).rowcount
    if treffer != 1:
        raise ChatFehler(TEXT_BEREITS_VERGEBEN, status=409)
    g = gespraech_laden(session, gespraech_id)
    assert g is not None
    session.refresh(g)
    nachricht_speichern(session, g, von=Von.system, text=TEXT_UEBERNOMMEN, jetzt=jetzt)
    return g


def gespraech_des_agenten(session: Session, gespraech_id: str, *, benutzer_id: int) -> ChatGespraech:
    g = gespraech_laden(session, gespraech_id)
    if g is None:
        raise ChatFehler("Diesen Chat gibt es nicht.", status=404)
    if g.eigentuemer != Eigentuemer.mensch or g.agent_id != benutzer_id:
        raise ChatFehler("Dieser Chat gehört nicht Ihnen: Übernehmen Sie ihn zuerst aus der Warteschlange.",
                         status=409)
    return g


def agent_antwortet(session: Session, gespraech: ChatGespraech, *, benutzer_id: int, text: str, max_zeichen: int,
                    jetzt: datetime) -> ChatNachricht:
    text = text.strip()
    if not text:
        raise ChatFehler("Bitte geben Sie eine Antwort ein.")
    if len(text) > max_zeichen * 4:
        raise ChatFehler(f"Die Antwort ist zu lang (höchstens {max_zeichen * 4} Zeichen).")
    return nachricht_speichern(session, gespraech, von=Von.agent, text=text, agent_id=benutzer_id, jetzt=jetzt)


def an_bot_zurueck(session: Session, gespraech: ChatGespraech, *, jetzt: datetime) -> None:
    """Called after Rasa accepted the resume events."""
    gespraech.eigentuemer = Eigentuemer.bot
    gespraech.agent_id = None
    nachricht_speichern(session, gespraech, von=Von.system, text=TEXT_ZURUECK_AN_BOT, jetzt=jetzt)


def resume_ereignisse() -> list[dict[str, str]]:
    """`resume`, then `action_listen` as Rasa 3.6 spells it (an ActionExecuted event; a bare
    {"event": "action_listen"} fails Rasa's schema validation with 400)."""
    return [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


# --- tickets -------------------------------------------------------------------------------------------------------

_NAMEN = {Von.bot: "Assistent", Von.buerger: "Bürger/in", Von.agent: "Servicecenter", Von.system: "System"}


def verlauf_als_text(nachrichten: list[ChatNachricht], tz) -> str:
    zeilen = []
    for n in nachrichten:
        zeilen.append(f"[{n.erstellt_am.astimezone(tz).strftime('%d.%m.%Y %H:%M')}] {_NAMEN[n.von]}: {n.text}")
    return "\n".join(zeilen)


def _zustaendige_stelle(session: Session, leistung_id: int | None, region: str) -> int | None:
    if leistung_id is None:
        return None
    zeilen = session.execute(
        select(Zustaendigkeit.organisationseinheit_id, Zustaendigkeit.region)
        .join(Organisationseinheit, Organisationseinheit.id == Zustaendigkeit.organisationseinheit_id)
        .where(Zustaendigkeit.leistung_id == leistung_id, Organisationseinheit.aktiv)
        .order_by(Zustaendigkeit.id)
    ).tuples().all()
    for oe_id, r in zeilen:
        if r == region:
            return oe_id
    return zeilen[0][0] if zeilen else None


@dataclass(frozen=True)
class TicketErgebnis:
    ticket: Ticket
    zugangscode: str
    status_url: str

    def daten(self, text: str) -> dict[str, str]:
        return {"nummer": self.ticket.nummer, "zugangscode": self.zugangscode, "status_url": self.status_url,
                "text": text}


def ticket_text(e: TicketErgebnis) -> str:
    return (f"Ihr Anliegen ist als Vorgang {e.ticket.nummer} bei uns eingegangen. Wir antworten innerhalb von "
            f"24 Stunden (Servicezeit: Montag bis Freitag 8 bis 18 Uhr). Ihr Zugangscode für die Statusabfrage: "
            f"{e.zugangscode}. Den Bearbeitungsstand sehen Sie unter {e.status_url}.")


_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")


def email_gueltig(email: str) -> bool:
    return len(email) <= 254 and bool(_EMAIL.match(email))


def ticket_aus_chat(session: Session, gespraech: ChatGespraech, *, anliegen: str,
                    buerger: tickets.BuergerDaten | None, einstellungen: tickets.TicketEinstellungen, region: str,
                    basis_url: str, jetzt: datetime, benutzer=None, von: Von | None = Von.system,
                    mehrfach: bool = False) -> TicketErgebnis:
    """A ticket (Kanal chat) with the transcript as an internal article. With `von`, the citizen also gets number,
    access code and status link as a chat message (the bot says it itself for Mängelmeldungen)."""
    if gespraech.ticket_id is not None and not mehrfach:
        raise ChatFehler("Zu diesem Chat gibt es bereits einen Vorgang.", status=409)
    ticket = tickets.ticket_anlegen(
        session, anliegen=anliegen, kanal=Kanal.chat, benutzer=benutzer, einstellungen=einstellungen,
        leistung_id=gespraech.leistung_id, queue_id=_zustaendige_stelle(session, gespraech.leistung_id, region),
        buerger=buerger, jetzt=jetzt, assignee_id=benutzer.id if benutzer is not None else None,
    )
    code = ticket.zugangscode  # type: ignore[attr-defined]  # transient, shown once
    text = verlauf_als_text(verlauf(session, gespraech.id), einstellungen.servicezeiten.tz)
    if text:
        tickets.artikel_anlegen(session, ticket, art=ArtikelArt.notiz, text="Chatverlauf:\n" + text,
                                benutzer=benutzer, einstellungen=einstellungen, jetzt=jetzt)
    gespraech.ticket_id = ticket.id
    e = TicketErgebnis(ticket, code, status_link(basis_url, ticket.nummer))
    if von is not None:
        nachricht_speichern(session, gespraech, von=von, text=ticket_text(e), jetzt=jetzt)
    return e


def maengelkategorie(session: Session, treffer_ids: list[int]) -> int | None:
    """The first search hit that is a Mängelmeldung category."""
    from wissensdatenbank.models import LeistungArt, LeistungStatus

    for leistung_id in treffer_ids:
        leistung = session.get(Leistung, leistung_id)
        if leistung is not None and leistung.art == LeistungArt.maengelmeldung and \
                leistung.status == LeistungStatus.veroeffentlicht:
            return leistung.id
    return None


# --- retention ---------------------------------------------------------------------------------------------------


def alte_loeschen(session: Session, *, jetzt: datetime, tage: int) -> int:
    """Delete conversations (with their transcript) whose last message is more than `tage` days old. A ticket made
    from a chat keeps its own articles. Returns the number of conversations deleted. The caller commits."""
    grenze = jetzt - timedelta(days=tage)
    alt = select(ChatGespraech.id).where(ChatGespraech.letzte_aktivitaet_am < grenze).scalar_subquery()
    session.execute(delete(ChatNachricht).where(ChatNachricht.gespraech_id.in_(alt))
                    .execution_options(synchronize_session=False))
    ergebnis = session.execute(delete(ChatGespraech).where(ChatGespraech.letzte_aktivitaet_am < grenze)
                               .execution_options(synchronize_session=False))
    return int(ergebnis.rowcount or 0)


class ChatAufbewahrung:
    """Worker housekeeping hook (servicecenter.worker.Worker.aufraeumen): applies the chat retention period."""

    arten: tuple[str, ...] = ()

    def __init__(self, tage: int) -> None:
        self.tage = tage

    def aufraeumen(self, session: Session, jetzt: datetime) -> None:
        n = alte_loeschen(session, jetzt=jetzt, tage=self.tage)
        if n:
            log.info("chat_gespraeche_geloescht", extra={"anzahl": n, "tage": self.tage})

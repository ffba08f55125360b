"""Chat HTTP API: the citizen's widget (messages, transcript, event stream, hand-off, ticket form) and the bot's
call-backs (hand-off, Mängelmeldung). `einrichten(app, …)` wires these and the desk pages.

A chat turn never holds a database transaction while Rasa answers: the bot's actions call back into this server
during the turn (hand-off, search), and SQLite would be locked. So: store the citizen's message and commit, ask
Rasa, then store the answers in a new transaction and re-read who owns the conversation.
"""


import asyncio
import hashlib
import hmac
import json
import logging
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kanaele.chat import service
from kanaele.chat.http11 import Http11Transport
from kanaele.chat.hub import ChatHub
from kanaele.chat.models import Eigentuemer, Von
from servicecenter import sla
from servicecenter.db import schreibend, session_scope
from servicecenter.status.service import Begrenzer
from servicecenter.tickets import service as tickets
from wissensdatenbank.basis import jetzt as _jetzt

log = logging.getLogger(__name__)

ZU_VIELE_TEXT = ("Sie haben in kurzer Zeit sehr viele Nachrichten gesendet. Bitte warten Sie einen Moment. "
                 "Sie erreichen uns auch unter der Behördennummer 115.")
UNBEKANNT_TEXT = "Dieses Gespräch gibt es nicht (mehr). Bitte beginnen Sie ein neues Gespräch."


class NachrichtEingabe(BaseModel):
    text: str = Field(max_length=100_000, description="Die Nachricht der Bürgerin oder des Bürgers")


class UebergabeEingabe(BaseModel):
    grund: str = Field(default="", max_length=2000)
    leistung_id: int | None = None


class MaengelEingabe(BaseModel):
    was: str = Field(max_length=4000)
    wo: str = Field(max_length=1000)
    email: str | None = Field(default=None, max_length=254)
    einwilligung: bool = False


class TicketEingabe(BaseModel):
    text: str = Field(max_length=10_000)
    email: str | None = Field(default=None, max_length=254)
    einwilligung: bool = False


# --- helpers ----------------------------------------------------------------------------------------------------


def uhr(app: FastAPI) -> datetime:
    return (getattr(app.state, "uhr", None) or _jetzt)()


def servicezeiten(settings) -> sla.Servicezeiten | None:
    return sla.servicezeiten_aus(settings) if settings.chat_servicezeiten_pruefen else None


def client_schluessel(request: Request) -> str:
    return request.client.host if request.client else "unbekannt"


def _fehler(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": text}, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _begrenzen(request: Request, gespraech_id: str) -> JSONResponse | None:
    st = request.app.state
    for begrenzer, schluessel in ((st.chat_begrenzer_client, client_schluessel(request)),
                                  (st.chat_begrenzer_gespraech, gespraech_id)):
        warten = begrenzer.versuch(schluessel)
        if warten is not None:
            log.info("chat_begrenzt", extra={"gespraech": service.id_kurz(gespraech_id)})
            return _fehler(429, ZU_VIELE_TEXT, {"Retry-After": str(int(warten) + 1)})
    return None


def token_gueltig(erwartet: str, gegeben: str) -> bool:
    """Constant-time comparison of digests (the length leaks nothing); an empty setting never matches."""
    if not erwartet:
        return False
    a = hashlib.sha256(erwartet.encode("utf-8")).digest()
    b = hashlib.sha256(gegeben.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


def bot_pruefen(request: Request) -> JSONResponse | None:
    erwartet = request.app.state.settings.chat_bot_token.get_secret_value()
    if not erwartet:
        return _fehler(503, "Die Bot-Schnittstelle ist nicht eingerichtet (SERVICECENTER_CHAT_BOT_TOKEN fehlt).")
    art, _, wert = (request.headers.get("authorization") or "").strip().partition(" ")
    if art.lower() != "bearer" or not token_gueltig(erwartet, wert.strip()):
        return JSONResponse({"detail": "Der Bot-Token fehlt oder ist falsch."}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return None


_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


# The transport of the calls to Rasa: http11.Http11Transport (a fifth of httpx's default transport's CPU per call).
# The chat API tests put httpx's own transport here, the one respx mocks.
RASA_TRANSPORT: Callable[[], httpx.AsyncBaseTransport] = Http11Transport


def http_client() -> httpx.AsyncClient:
    """One pooled client per event loop (a pool cannot be shared between loops)."""
    loop = asyncio.get_running_loop()
    c = _CLIENTS.get(loop)
    if c is None:
        c = httpx.AsyncClient(transport=RASA_TRANSPORT())
        _CLIENTS[loop] = c
    return c


async def rasa_fragen(settings, url: str, gespraech_id: str, text: str) -> service.RasaAntwort | None:
    """Only the conversation id and the message go to Rasa: no IP, no other data of the citizen."""
    try:
        r = await http_client().post(f"{url}/webhooks/rest/webhook", json={"sender": gespraech_id, "message": text},
                                     timeout=settings.chat_rasa_timeout_sekunden)
        r.raise_for_status()
        return service.rasa_antwort_auswerten(r.json())
    except (httpx.HTTPError, ValueError) as e:
        log.warning("rasa_fehler", extra={"gespraech": service.id_kurz(gespraech_id), "fehler": type(e).__name__})
        return None


async def rasa_fortsetzen(settings, url: str, gespraech_id: str) -> bool:
    """Hand back to the bot: Rasa's tracker gets `resume` and `action_listen`."""
    token = settings.chat_rasa_token.get_secret_value()
    try:
        r = await http_client().post(
            f"{url}/conversations/{gespraech_id}/tracker/events", params={"token": token} if token else None,
            json=service.resume_ereignisse(), timeout=settings.chat_rasa_timeout_sekunden,
        )
        r.raise_for_status()
        return True
    except httpx.HTTPError as e:
        log.warning("rasa_fortsetzen_fehler",
                    extra={"gespraech": service.id_kurz(gespraech_id), "fehler": type(e).__name__})
        return False


def sse(daten: dict, ereignis: str, ereignis_id: int | None = None) -> bytes:
    kopf = f"id: {ereignis_id}\n" if ereignis_id is not None else ""
    return f"{kopf}event: {ereignis}\ndata: {json.dumps(daten, ensure_ascii=False)}\n\n".encode()


# --- database units of work (run in the thread pool, each its own transaction) ----------------------------------


def _eingang(app: FastAPI, gespraech_id: str, text: str) -> tuple[Eigentuemer, str]:
    with session_scope(app.state.sessions) as session:
        schreibend(session)
        return service.buerger_nachricht_speichern(session, gespraech_id, text,
                                                   rasa_urls=app.state.settings.chat_rasa_urls, jetzt=uhr(app))


def _ausgang(app: FastAPI, gespraech_id: str, antwort: service.RasaAntwort | None) -> tuple[
        list[dict[str, Any]], dict[str, Any] | None, Eigentuemer]:
    rasa_weg = antwort is None
    if antwort is None:  # Rasa down: apologise, offer 115 and the ticket; the message is stored already
        antwort = service.RasaAntwort(antworten=[{"text": service.TEXT_RASA_NICHT_ERREICHBAR,
                                                  "buttons": [dict(service.BUTTON_TICKET)]}])
    with session_scope(app.state.sessions) as session:
        schreibend(session)
        leistung, eigentuemer = service.antworten_speichern(session, gespraech_id, antwort, jetzt=uhr(app),
                                                            ticket_angeboten=rasa_weg)
        return antwort.antworten, leistung, eigentuemer


def _zustand(session: Session, g) -> dict[str, Any]:
    return {"eigentuemer": g.eigentuemer.value, "ticketformular": bool(g.ticket_angeboten and g.ticket_id is None),
            "ticket": g.ticket_id is not None}


def _stream_lesen(app: FastAPI, gespraech_id: str, nach_id: int) -> tuple[list[dict], dict | None]:
    session: Session = app.state.sessions()
    try:
        g = service.gespraech_laden(session, gespraech_id)
        if g is None:
            return [], None
        neu = service.verlauf(session, gespraech_id, nach_id=nach_id, nur_von=(Von.agent, Von.system))
        return [service.nachricht_daten(n) for n in neu], _zustand(session, g)
    finally:
        session.rollback()
        session.close()


# --- routers -------------------------------------------------------------------------------------------------------


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/chat", tags=["Chat"])
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    @router.post("/{gespraech_id}/nachrichten", summary="Nachricht an den Chat (Bot oder Mitarbeiter/in)",
                 responses={422: {"description": "Nachricht leer, zu lang oder Kennung ungültig"},
                            429: {"description": "Zu viele Nachrichten"}})
    async def nachricht(request: Request, gespraech_id: str, eingabe: NachrichtEingabe) -> JSONResponse:
        """Legt das Gespräch bei der ersten Nachricht an. Antwort: `{"antworten": [{"text", "buttons"}],
        "leistung": {"id", "name"} | null, "eigentuemer": "bot" | "mensch"}`. Wartet das Gespräch auf eine
        Mitarbeiterin oder ist es übernommen, bleibt `antworten` leer; deren Antworten kommen über den Stream."""
        start = time.perf_counter()
        app = request.app
        s = app.state.settings
        if not service.id_gueltig(gespraech_id):
            return _fehler(422, "Die Gesprächskennung ist ungültig (16 bis 64 Zeichen: Buchstaben, Ziffern, - und _).")
        text = eingabe.text.strip()
        if not text:
            return _fehler(422, "Bitte geben Sie eine Nachricht ein.")
        if len(text) > s.chat_max_zeichen:
            return _fehler(422, f"Die Nachricht ist zu lang: höchstens {s.chat_max_zeichen} Zeichen.")
        begrenzt = _begrenzen(request, gespraech_id)
        if begrenzt is not None:
            return begrenzt
        eigentuemer, url = await run_in_threadpool(_eingang, app, gespraech_id, text)
        if eigentuemer != Eigentuemer.bot:
            app.state.chat_hub.wecken(gespraech_id)
            log.info("chat_nachricht", extra={"gespraech": service.id_kurz(gespraech_id), "an": eigentuemer.value})
            return JSONResponse({"antworten": [], "leistung": None, "eigentuemer": "mensch"})
        antwort = await rasa_fragen(s, url, gespraech_id, text)
        antworten, leistung, eigentuemer = await run_in_threadpool(_ausgang, app, gespraech_id, antwort)
        app.state.chat_hub.wecken(gespraech_id)
        log.info("chat_nachricht", extra={
            "gespraech": service.id_kurz(gespraech_id), "an": "bot", "antworten": len(antworten),
            "rasa_ok": antwort is not None, "ms": round((time.perf_counter() - start) * 1000, 1)})
        return JSONResponse({"antworten": antworten, "leistung": leistung,
                             "eigentuemer": service.eigentuemer_nach_aussen(eigentuemer)})

    @router.get("/{gespraech_id}", summary="Gesprächsverlauf (zum Wiederherstellen nach dem Neuladen)")
    def lesen(gespraech_id: str, session: Sitzung) -> JSONResponse:
        g = service.gespraech_laden(session, gespraech_id)
        if g is None:
            return _fehler(404, UNBEKANNT_TEXT)
        return JSONResponse({
            **_zustand(session, g),
            "leistung": service.leistung_daten(session, g.leistung_id),
            "nachrichten": [service.nachricht_daten(n) for n in service.verlauf(session, g.id)],
        }, headers={"Cache-Control": "no-store"})

    @router.get("/{gespraech_id}/stream", summary="Live-Nachrichten der Mitarbeiter/innen (Server-Sent Events)")
    async def stream(request: Request, gespraech_id: str, nach: int = 0):
        """Ereignisse `nachricht` (Mitarbeiter- und Systemnachrichten, mit id) und `zustand`."""
        if not service.id_gueltig(gespraech_id):
            return _fehler(404, UNBEKANNT_TEXT)
        app = request.app
        hub: ChatHub = app.state.chat_hub
        takt = app.state.settings.chat_sse_abfrage_sekunden
        try:
            letzte = max(nach, int(request.headers.get("last-event-id") or 0))
        except ValueError:
            letzte = nach
        if hub.anzahl(gespraech_id) >= 5:
            return _fehler(429, ZU_VIELE_TEXT, {"Retry-After": "30"})

        async def ereignisse():
            nonlocal letzte
            zustand_alt = None
            async with hub.abonnieren(gespraech_id) as wach:
                yield b"retry: 3000\n: verbunden\n\n"
                leerlauf = 0.0
                while not await request.is_disconnected():
                    wach.clear()
                    neu, zustand = await run_in_threadpool(_stream_lesen, app, gespraech_id, letzte)
                    for n in neu:
                        letzte = n["id"]
                        yield sse(n, "nachricht", n["id"])
                    if zustand is not None and zustand != zustand_alt:
                        zustand_alt = zustand
                        yield sse(zustand, "zustand")
                    try:
                        await asyncio.wait_for(wach.wait(), timeout=takt)
                        leerlauf = 0.0
                    except TimeoutError:
                        leerlauf += takt
                        if leerlauf >= 15:
                            leerlauf = 0.0
                            yield b": ping\n\n"

        return StreamingResponse(ereignisse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @router.post("/{gespraech_id}/uebergabe", summary="Bürger/in möchte mit einem Menschen sprechen")
    def buerger_uebergabe(request: Request, gespraech_id: str, session: Sitzung) -> JSONResponse:
        """Wie die Übergabe durch den Bot: `{"ergebnis": "warteschlange" | "ausserhalb", "text"}`."""
        s = request.app.state.settings
        if not service.id_gueltig(gespraech_id):
            return _fehler(422, "Die Gesprächskennung ist ungültig.")
        begrenzt = _begrenzen(request, gespraech_id)
        if begrenzt is not None:
            return begrenzt
        jetzt = uhr(request.app)
        g = service.gespraech_holen_oder_anlegen(session, gespraech_id, rasa_urls=s.chat_rasa_urls, jetzt=jetzt)
        e = service.uebergeben(session, g, grund="Bürger/in möchte mit einem Menschen sprechen", leistung_id=None,
                               servicezeiten=servicezeiten(s), online_sekunden=s.chat_agent_online_sekunden,
                               jetzt=jetzt)
        service.nachricht_speichern(session, g, von=Von.bot, text=e.text, jetzt=jetzt)
        log.info("chat_uebergabe", extra={"gespraech": service.id_kurz(gespraech_id), "ergebnis": e.ergebnis,
                                          "durch": "buerger"})
        return JSONResponse({"ergebnis": e.ergebnis, "text": e.text})

    @router.post("/{gespraech_id}/ticket", status_code=201, summary="Anliegen als Ticket senden (Chat offline)")
    def buerger_ticket(request: Request, gespraech_id: str, eingabe: TicketEingabe, session: Sitzung) -> JSONResponse:
        """Legt einen Vorgang mit 24-Stunden-Versprechen an: `{"nummer", "zugangscode", "status_url", "text"}`."""
        s = request.app.state.settings
        if not service.id_gueltig(gespraech_id):
            return _fehler(422, "Die Gesprächskennung ist ungültig.")
        begrenzt = _begrenzen(request, gespraech_id)
        if begrenzt is not None:
            return begrenzt
        text = eingabe.text.strip()
        email = (eingabe.email or "").strip() or None
        if not text:
            return _fehler(422, "Bitte beschreiben Sie Ihr Anliegen.")
        if email and not service.email_gueltig(email):
            return _fehler(422, "Bitte geben Sie eine gültige E-Mail-Adresse an (oder lassen Sie das Feld leer).")
        if email and not eingabe.einwilligung:
            return _fehler(422, tickets.EINWILLIGUNG_TEXT)
        jetzt = uhr(request.app)
        g = service.gespraech_holen_oder_anlegen(session, gespraech_id, rasa_urls=s.chat_rasa_urls, jetzt=jetzt)
        try:
            e = service.ticket_aus_chat(
                session, g, anliegen=text, buerger=tickets.BuergerDaten(email=email, einwilligung=eingabe.einwilligung)
                if email else None, einstellungen=tickets.TicketEinstellungen.aus(s), region=s.region,
                basis_url=s.oeffentliche_url, jetzt=jetzt, von=Von.bot,
            )
        except service.ChatFehler as exc:
            return _fehler(exc.status, exc.meldung)
        except tickets.TicketFehler as exc:
            return _fehler(422, exc.meldung)
        log.info("chat_ticket", extra={"gespraech": service.id_kurz(gespraech_id), "durch": "buerger"})
        return JSONResponse(e.daten(service.ticket_text(e)), status_code=201, headers={"Cache-Control": "no-store"})

    # --- the bot's call-backs ---------------------------------------------------------------------------------

    def _bot_anfrage_pruefen(request: Request, gespraech_id: str) -> JSONResponse | None:
        """Bot token first (401/503), then the conversation id (422): shared by every bot call-back."""
        fehler = bot_pruefen(request)
        if fehler is None and not service.id_gueltig(gespraech_id):
            fehler = _fehler(422, "Die Gesprächskennung ist ungültig.")
        return fehler

    @router.post("/bot/{gespraech_id}/uebergabe", summary="Übergabe an einen Menschen (Bot-Aktion)",
                 responses={401: {"description": "Bot-Token falsch"}, 503: {"description": "Nicht eingerichtet"}})
    def bot_uebergabe(request: Request, gespraech_id: str, eingabe: UebergabeEingabe, session: Sitzung) -> JSONResponse:
        """`{"ergebnis": "warteschlange" | "ausserhalb", "text"}`; bei `warteschlange` pausiert der Bot."""
        fehler = _bot_anfrage_pruefen(request, gespraech_id)
        if fehler is not None:
            return fehler
        s = request.app.state.settings
        jetzt = uhr(request.app)
        g = service.gespraech_holen_oder_anlegen(session, gespraech_id, rasa_urls=s.chat_rasa_urls, jetzt=jetzt)
        e = service.uebergeben(session, g, grund=eingabe.grund, leistung_id=eingabe.leistung_id,
                               servicezeiten=servicezeiten(s), online_sekunden=s.chat_agent_online_sekunden,
                               jetzt=jetzt)
        log.info("chat_uebergabe", extra={"gespraech": service.id_kurz(gespraech_id), "ergebnis": e.ergebnis,
                                          "durch": "bot"})
        return JSONResponse({"ergebnis": e.ergebnis, "text": e.text})

    @router.post("/bot/{gespraech_id}/maengel", status_code=201, summary="Mängelmeldung aus dem Chat (Bot-Aktion)",
                 responses={401: {"description": "Bot-Token falsch"}, 422: {"description": "Angaben unvollständig"}})
    def bot_maengel(request: Request, gespraech_id: str, eingabe: MaengelEingabe, session: Sitzung) -> JSONResponse:
        """Legt eine Mängelmeldung (Ticket, Kanal chat) an: `{"nummer", "zugangscode", "status_url"}`."""
        fehler = _bot_anfrage_pruefen(request, gespraech_id)
        if fehler is not None:
            return fehler
        s = request.app.state.settings
        was, wo = eingabe.was.strip(), eingabe.wo.strip()
        email = (eingabe.email or "").strip() or None
        if not was or not wo:
            return _fehler(422, "Bitte geben Sie an, was kaputt ist und wo.")
        if email and not service.email_gueltig(email):
            return _fehler(422, "Die E-Mail-Adresse ist ungültig.")
        if email and not eingabe.einwilligung:
            return _fehler(422, tickets.EINWILLIGUNG_TEXT)
        jetzt = uhr(request.app)
        g = service.gespraech_holen_oder_anlegen(session, gespraech_id, rasa_urls=s.chat_rasa_urls, jetzt=jetzt)
        wdb = request.app.state.wissensdatenbank
        kategorie = service.maengelkategorie(session, [t.id for t in wdb.suche(was, limit=10)])
        if kategorie is not None:
            g.leistung_id = kategorie
        try:
            e = service.ticket_aus_chat(
                session, g, anliegen=f"Mängelmeldung aus dem Chat\nWas: {was}\nWo: {wo}",
                buerger=tickets.BuergerDaten(email=email, einwilligung=True) if email else None,
                einstellungen=tickets.TicketEinstellungen.aus(s), region=s.region, basis_url=s.oeffentliche_url,
                jetzt=jetzt, von=None, mehrfach=True,
            )
        except tickets.TicketFehler as exc:
            return _fehler(422, exc.meldung)
        log.info("chat_maengel", extra={"gespraech": service.id_kurz(gespraech_id), "kategorie": kategorie})
        return JSONResponse({"nummer": e.ticket.nummer, "zugangscode": e.zugangscode, "status_url": e.status_url},
                            status_code=201)

    return router


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    """Wire the chat API, the citizen page and the desk chat queue; state on app.state.chat_*."""
    from kanaele.chat.views import make_router as views_router

    s = app.state.settings
    app.state.chat_hub = ChatHub()
    app.state.chat_begrenzer_gespraech = Begrenzer(s.chat_max_nachrichten_gespraech, s.chat_fenster_sekunden)
    app.state.chat_begrenzer_client = Begrenzer(s.chat_max_nachrichten_client, s.chat_fenster_sekunden)
    app.include_router(make_router(get_session=get_session))
    app.include_router(views_router(get_session=get_session))
    if s.chat_cors_origins:
        from kanaele.chat.cors import ChatCorsMiddleware

        app.add_middleware(ChatCorsMiddleware, origins=list(s.chat_cors_origins))

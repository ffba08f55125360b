"""Pages: the citizen chat page /chat, and the agents' chat queue /desk/chats with one page per conversation
(take over, reply, hand back to the bot, convert to a ticket). The queue polls (htmx), which also marks the agent
as online for hand-offs."""


from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from kanaele.chat import service
from kanaele.chat.api import rasa_fortsetzen, servicezeiten, uhr
from kanaele.chat.models import ChatGespraech, Eigentuemer, Von
from servicecenter.auth import csrf
from servicecenter.auth.deps import Rolle, benutzer_mit_rolle
from servicecenter.auth.models import Benutzer
from servicecenter.db import session_scope
from servicecenter.tickets import service as tickets
from servicecenter.web import templates as web_templates

HIER = Path(__file__).parent
_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(HIER / "templates"), web_templates.env.loader]),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
csrf.jinja_einrichten(_env)
templates = Jinja2Templates(env=_env)
Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]

VON_TEXT = {Von.bot: "Assistent", Von.buerger: "Bürger/in", Von.agent: "Servicecenter", Von.system: "Hinweis"}
EIGENTUEMER_TEXT = {Eigentuemer.bot: "beim Bot", Eigentuemer.warteschlange: "wartet",
                    Eigentuemer.mensch: "übernommen"}


def _zeit(request: Request):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(request.app.state.settings.zeitzone)
    return lambda t: t.astimezone(tz).strftime("%H:%M")


def _ist_leitung(benutzer: Benutzer) -> bool:
    return benutzer.rolle in (Rolle.teamleitung, Rolle.admin)


def _ansicht(session: Session, g: ChatGespraech) -> dict:
    return {"g": g, "nachrichten": service.verlauf(session, g.id),
            "leistung": service.leistung_daten(session, g.leistung_id)}


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]

    def _liste_kontext(request: Request, session: Session, benutzer: Benutzer) -> dict:
        s = request.app.state.settings
        jetzt = uhr(request.app)
        service.anwesenheit_melden(session, benutzer_id=benutzer.id, jetzt=jetzt)
        sz = servicezeiten(s)
        return {
            "benutzer": benutzer,
            "wartend": [_ansicht(session, g) for g in service.warteschlange(session)],
            "meine": [_ansicht(session, g) for g in service.chats_von(session, benutzer.id)],
            "in_servicezeit": sz is None or service.in_servicezeit(jetzt, sz),
            "online": service.agenten_online(session, jetzt=jetzt, sekunden=s.chat_agent_online_sekunden),
            "zeit": _zeit(request), "von_text": VON_TEXT,
        }

    # --- citizen page -------------------------------------------------------------------------------------------

    @router.get("/chat", response_class=HTMLResponse)
    def chat_seite(request: Request):
        return templates.TemplateResponse(request, "chat/seite.html", {"max_zeichen":
                                                                       request.app.state.settings.chat_max_zeichen})

    # --- desk ----------------------------------------------------------------------------------------------------

    @router.get("/desk/chats", response_class=HTMLResponse)
    def chats(request: Request, benutzer: Agent, session: SessionDep, fehler: str = ""):
        kontext = _liste_kontext(request, session, benutzer)
        return templates.TemplateResponse(request, "chat/desk_chats.html", {**kontext, "fehler": fehler[:300]})

    @router.get("/desk/chats/liste", response_class=HTMLResponse)
    def chats_liste(request: Request, benutzer: Agent, session: SessionDep):
        return templates.TemplateResponse(request, "chat/_desk_liste.html", _liste_kontext(request, session, benutzer))

    @router.post("/desk/chats/{gespraech_id}/uebernehmen")
    def uebernehmen(request: Request, gespraech_id: str, benutzer: Agent, session: SessionDep):
        try:
            service.uebernehmen(session, gespraech_id, benutzer_id=benutzer.id, jetzt=uhr(request.app))
        except service.ChatFehler as e:
            session.rollback()
            kontext = _liste_kontext(request, session, benutzer)
            return templates.TemplateResponse(request, "chat/desk_chats.html", {**kontext, "fehler": e.meldung},
                                              status_code=e.status)
        return RedirectResponse(f"/desk/chats/{quote(gespraech_id)}", status_code=303,
                                background=BackgroundTask(request.app.state.chat_hub.wecken, gespraech_id))

    def _gespraech_fuer(session: Session, gespraech_id: str, benutzer: Benutzer) -> ChatGespraech:
        g = service.gespraech_laden(session, gespraech_id)
        if g is None:
            raise service.ChatFehler("Diesen Chat gibt es nicht.", status=404)
        if not (_ist_leitung(benutzer) or g.eigentuemer == Eigentuemer.warteschlange
                or (g.eigentuemer == Eigentuemer.mensch and g.agent_id == benutzer.id)):
            raise service.ChatFehler("Dieser Chat ist nicht (mehr) in der Warteschlange und gehört nicht Ihnen.",
                                     status=403)
        return g

    def _chat_seite(request: Request, session: Session, benutzer: Benutzer, gespraech_id: str, *,
                    fehler: str = "", status_code: int = 200, text: str = ""):
        try:
            g = _gespraech_fuer(session, gespraech_id, benutzer)
        except service.ChatFehler as e:
            return RedirectResponse(f"/desk/chats?fehler={quote(e.meldung)}", status_code=303)
        ansicht = _ansicht(session, g)
        vorschlag = "\n".join(n.text for n in ansicht["nachrichten"] if n.von == Von.buerger)[-2000:]
        return templates.TemplateResponse(request, "chat/desk_chat.html", {
            **ansicht, "benutzer": benutzer, "fehler": fehler, "text": text, "zeit": _zeit(request),
            "von_text": VON_TEXT, "eigen": g.eigentuemer == Eigentuemer.mensch and g.agent_id == benutzer.id,
            "eigentuemer_text": EIGENTUEMER_TEXT[g.eigentuemer], "vorschlag": vorschlag,
        }, status_code=status_code)

    @router.get("/desk/chats/{gespraech_id}", response_class=HTMLResponse)
    def chat(request: Request, gespraech_id: str, benutzer: Agent, session: SessionDep, fehler: str = ""):
        service.anwesenheit_melden(session, benutzer_id=benutzer.id, jetzt=uhr(request.app))
        return _chat_seite(request, session, benutzer, gespraech_id, fehler=fehler[:300])

    @router.get("/desk/chats/{gespraech_id}/verlauf", response_class=HTMLResponse)
    def chat_verlauf(request: Request, gespraech_id: str, benutzer: Agent, session: SessionDep):
        service.anwesenheit_melden(session, benutzer_id=benutzer.id, jetzt=uhr(request.app))
        try:
            g = _gespraech_fuer(session, gespraech_id, benutzer)
        except service.ChatFehler as e:
            return HTMLResponse(f'<p class="hinweis fehler">{_esc(e.meldung)}</p>', status_code=200)
        return templates.TemplateResponse(request, "chat/_desk_verlauf.html", {
            **_ansicht(session, g), "zeit": _zeit(request), "von_text": VON_TEXT})

    @router.post("/desk/chats/{gespraech_id}/antworten")
    def antworten(request: Request, gespraech_id: str, benutzer: Agent, session: SessionDep,
                  text: Annotated[str, Form(max_length=20_000)] = ""):
        s = request.app.state.settings
        try:
            g = service.gespraech_des_agenten(session, gespraech_id, benutzer_id=benutzer.id)
            service.agent_antwortet(session, g, benutzer_id=benutzer.id, text=text, max_zeichen=s.chat_max_zeichen,
                                    jetzt=uhr(request.app))
        except service.ChatFehler as e:
            session.rollback()
            return _chat_seite(request, session, benutzer, gespraech_id, fehler=e.meldung, status_code=e.status,
                               text=text)
        return RedirectResponse(f"/desk/chats/{quote(gespraech_id)}#antwort", status_code=303,
                                background=BackgroundTask(request.app.state.chat_hub.wecken, gespraech_id))

    def _eigenes_gespraech(app, gespraech_id: str, benutzer_id: int) -> str:
        with session_scope(app.state.sessions) as session:
            return service.gespraech_des_agenten(session, gespraech_id, benutzer_id=benutzer_id).rasa_url

    def _zurueck(app, gespraech_id: str, benutzer_id: int) -> None:
        with session_scope(app.state.sessions) as session:
            g = service.gespraech_des_agenten(session, gespraech_id, benutzer_id=benutzer_id)
            service.an_bot_zurueck(session, g, jetzt=uhr(app))

    @router.post("/desk/chats/{gespraech_id}/zurueckgeben")
    async def zurueckgeben(request: Request, gespraech_id: str, benutzer: Agent):
        """Rasa first (resume, action_listen), then the owner: a failed call leaves the chat with the agent."""
        app = request.app
        ziel = f"/desk/chats/{quote(gespraech_id)}"
        try:
            url = await run_in_threadpool(_eigenes_gespraech, app, gespraech_id, benutzer.id)
            if not await rasa_fortsetzen(app.state.settings, url, gespraech_id):
                raise service.ChatFehler("Der Bot ist gerade nicht erreichbar; der Chat bleibt bei Ihnen. "
                                         "Bitte versuchen Sie es gleich noch einmal.", status=502)
            await run_in_threadpool(_zurueck, app, gespraech_id, benutzer.id)
        except service.ChatFehler as e:
            return RedirectResponse(f"{ziel}?fehler={quote(e.meldung)}", status_code=303)
        app.state.chat_hub.wecken(gespraech_id)
        return RedirectResponse("/desk/chats", status_code=303)

    def _ticket(app, gespraech_id: str, benutzer: Benutzer, anliegen: str) -> tuple[str, str]:
        s = app.state.settings
        with session_scope(app.state.sessions) as session:
            g = service.gespraech_des_agenten(session, gespraech_id, benutzer_id=benutzer.id)
            try:
                e = service.ticket_aus_chat(
                    session, g, anliegen=anliegen or "Anliegen aus dem Chat", buerger=None,
                    einstellungen=tickets.TicketEinstellungen.aus(s), region=s.region, basis_url=s.oeffentliche_url,
                    jetzt=uhr(app), benutzer=benutzer, von=Von.system, mehrfach=True,
                )
            except tickets.TicketFehler as exc:
                raise service.ChatFehler(exc.meldung) from exc
            return e.ticket.nummer, g.rasa_url

    @router.post("/desk/chats/{gespraech_id}/ticket")
    async def in_ticket(request: Request, gespraech_id: str, benutzer: Agent,
                        anliegen: Annotated[str, Form(max_length=10_000)] = ""):
        """Ticket with the transcript; the citizen gets number and code in the chat; the bot takes over again
        (when Rasa answers; otherwise the chat stays with the agent, who can hand it back later)."""
        app = request.app
        try:
            nummer, url = await run_in_threadpool(_ticket, app, gespraech_id, benutzer, anliegen.strip())
        except service.ChatFehler as e:
            return RedirectResponse(f"/desk/chats/{quote(gespraech_id)}?fehler={quote(e.meldung)}", status_code=303)
        app.state.chat_hub.wecken(gespraech_id)
        if await rasa_fortsetzen(app.state.settings, url, gespraech_id):
            try:
                await run_in_threadpool(_zurueck, app, gespraech_id, benutzer.id)
            except service.ChatFehler:
                pass
            app.state.chat_hub.wecken(gespraech_id)
        return RedirectResponse(f"/desk/tickets/{quote(nummer)}", status_code=303)

    return router


def _esc(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))

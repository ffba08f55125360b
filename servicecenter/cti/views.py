"""Call log pages for agents: /desk/anrufe with missed calls and the "zurückrufen" action."""


from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle
from servicecenter.auth.models import Benutzer
from servicecenter.cti import service
from servicecenter.cti.models import AnrufZustand
from servicecenter.reporting.service import zeitraum
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Ticket
from servicecenter.web import templates
from wissensdatenbank.basis import jetzt as _jetzt

Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]


def dauer_text(sekunden: int | None) -> str:
    if sekunden is None:
        return "–"
    m, s = divmod(int(sekunden), 60)
    return f"{m}:{s:02d} min" if m else f"{s} s"


templates.env.filters["anruf_dauer"] = dauer_text


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]

    @router.get("/desk/anrufe", response_class=HTMLResponse)
    def anrufliste(
        request: Request, benutzer: Agent, session: SessionDep,
        zeitraum_name: Annotated[str, Query(alias="zeitraum", max_length=20)] = "heute",
        nur: Annotated[str, Query(max_length=20)] = "",
        rueckruf: Annotated[str, Query(max_length=30)] = "",
    ):
        s = request.app.state.settings
        jetzt = (getattr(request.app.state, "uhr", None) or _jetzt)()
        z = zeitraum(zeitraum_name if zeitraum_name in ("heute", "woche", "7tage", "30tage") else "heute",
                     jetzt=jetzt, zeitzone=s.zeitzone)
        anrufe = service.anrufe_liste(session, von=z.von, bis=z.bis, nur_verpasst=nur == "verpasst", limit=500)
        tz = z.von.tzinfo
        zeilen = []
        for a in anrufe:
            d = service.anruf_daten(a, jetzt=jetzt, schwelle_sekunden=s.servicelevel_sekunden, region=s.cti_region)
            ticket = session.get(Ticket, a.rueckruf_ticket_id) if a.rueckruf_ticket_id else None
            zeilen.append({"anruf": a, "d": d, "beginn": a.beginn.astimezone(tz), "rueckruf_ticket": ticket,
                           "kann_zurueckrufen": a.zustand == AnrufZustand.verpasst and not a.anonym and ticket is None})
        sl = service.servicelevel(anrufe, s.servicelevel_sekunden)
        verpasst = sum(1 for a in anrufe if a.zustand == AnrufZustand.verpasst)
        return templates.TemplateResponse(request, "cti/anrufe.html", {
            "benutzer": benutzer, "zeilen": zeilen, "zeitraum": z, "zeitraum_name": zeitraum_name, "nur": nur,
            "servicelevel": sl, "schwelle": s.servicelevel_sekunden, "verpasst": verpasst,
            "rueckruf": rueckruf,
        })

    @router.post("/desk/anrufe/{anruf_id}/zurueckrufen")
    def zurueckrufen(
        request: Request, anruf_id: int, benutzer: Agent, session: SessionDep,
        notiz: Annotated[str, Form(max_length=2000)] = "",
    ):
        jetzt = (getattr(request.app.state, "uhr", None) or _jetzt)()
        try:
            ticket = service.zurueckrufen(
                session, anruf_id=anruf_id, benutzer=benutzer,
                einstellungen=tickets.TicketEinstellungen.aus(request.app.state.settings), notiz=notiz, jetzt=jetzt,
            )
        except tickets.NichtGefunden as e:
            raise HTTPException(404, str(e)) from e
        except tickets.UngueltigeEingabe as e:
            raise HTTPException(422, str(e)) from e
        return RedirectResponse(f"/desk/anrufe?nur=verpasst&rueckruf={quote(ticket.nummer)}", status_code=303)

    return router


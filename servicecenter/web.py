"""Public, server-rendered pages: knowledge base search and the Leistung page (German, accessible)."""


from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from servicecenter.settings import Settings
from wissensdatenbank.models import LeistungStatus
from wissensdatenbank.oeffnung import Slot, wochenplan_text
from wissensdatenbank.service import Wissensdatenbank, leistung_laden, oe_status

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def euro(betrag) -> str:
    if betrag is None:
        return ""
    return f"{betrag:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")


templates.env.filters["euro"] = euro
# Snippets come from the search already HTML-escaped, with <mark> added by us.
templates.env.filters["snippet"] = lambda s: Markup(s)


def make_router(
    *,
    get_session: Callable[..., Session],
    get_wissensdatenbank: Callable[..., Wissensdatenbank],
    jetzt: Callable[[], datetime],
    settings: Settings,
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def startseite(
        request: Request,
        wdb: Annotated[Wissensdatenbank, Depends(get_wissensdatenbank)],
        q: Annotated[str, Query(max_length=500)] = "",
    ):
        treffer = wdb.suche(q, limit=10) if q.strip() else []
        return templates.TemplateResponse(
            request, "suche.html", {"q": q, "treffer": treffer, "anzahl": len(wdb)}
        )

    @router.get("/leistungen/{leistung_id}", response_class=HTMLResponse)
    def leistung_seite(request: Request, leistung_id: int, session: Annotated[Session, Depends(get_session, scope="function")]):
        l = leistung_laden(session, leistung_id) if 0 < leistung_id < 2**31 else None
        if l is None or l.status != LeistungStatus.veroeffentlicht:
            raise HTTPException(404, "Diese Leistung gibt es nicht.")
        now = jetzt()
        stellen = []
        for z in l.zustaendigkeiten:
            oe = z.organisationseinheit
            stellen.append(
                {
                    "oe": oe,
                    "status": oe_status(oe, jetzt=now, zeitzone=settings.zeitzone, land=settings.feiertage_land),
                    "plan": wochenplan_text([Slot(s.wochentag, s.von, s.bis) for s in oe.oeffnungszeiten]),
                }
            )
        return templates.TemplateResponse(request, "leistung.html", {"l": l, "stellen": stellen})

    return router

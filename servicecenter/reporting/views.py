"""Supervisor dashboard (/teamleitung/dashboard) and CSV exports (/teamleitung/export/{figur}.csv).
Teamleitung and Admin only."""


from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle
from servicecenter.auth.models import Benutzer
from servicecenter.reporting import service, svg
from servicecenter.web import templates
from wissensdatenbank.basis import jetzt as _jetzt

Leitung = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.teamleitung))]

FIGUR_TITEL = {
    "erstloesung": "Kontakte (Erstlösungsquote)",
    "servicelevel": "Anrufe (Servicelevel)",
    "weiterleitung": "Weiterleitungen (24 Servicestunden)",
    "backlog": "Rückstand je Queue",
    "ueberfaellig": "Überfällige Tickets",
    "kanalmix": "Kanalmix",
    "email": "E-Mail: automatisch beantwortet",
    "leistungen": "Häufigste Leistungen",
    "wissensluecken": "Wissenslücken",
    "volumen_stunde": "Aufkommen je Stunde",
    "volumen_tag": "Aufkommen je Tag",
    "servicelevel_verlauf": "Servicelevel im Verlauf",
}


def _datum(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise service.ZeitraumFehler(f"„{text[:20]}“ ist kein gültiges Datum (JJJJ-MM-TT).") from e


def _zeitraum(request: Request, name: str, von: str, bis: str) -> service.Zeitraum:
    s = request.app.state.settings
    jetzt = (getattr(request.app.state, "uhr", None) or _jetzt)()
    return service.zeitraum(name, jetzt=jetzt, zeitzone=s.zeitzone, von=_datum(von), bis=_datum(bis))


def _summe_text(v: service.Verlauf, einheit: str) -> str:
    teile = []
    for name, reihe in v.reihen.items():
        werte = [x or 0 for x in reihe]
        gesamt = sum(werte)
        if gesamt:
            i = max(range(len(werte)), key=lambda j: werte[j])
            teile.append(f"{name}: insgesamt {int(gesamt)}, am meisten {einheit} {v.beschriftungen[i]} "
                         f"mit {int(werte[i])}")
        else:
            teile.append(f"{name}: keine im Zeitraum")
    return "; ".join(teile) + ". Die Werte stehen in der Tabelle unter dem Diagramm."


def _sl_text(v: service.Verlauf) -> str:
    werte = [(b, x) for b, x in zip(v.beschriftungen, v.reihen["Servicelevel"], strict=True) if x is not None]
    if not werte:
        return "Im Zeitraum gab es keine gezählten Anrufe. Ziel: 75 Prozent."
    tief = min(werte, key=lambda bx: bx[1])
    hoch = max(werte, key=lambda bx: bx[1])
    return (f"Servicelevel zwischen {service.prozent(tief[1])} ({tief[0]}) und {service.prozent(hoch[1])} "
            f"({hoch[0]}); Ziel 75 %. Die Werte stehen in der Tabelle unter dem Diagramm.")


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]

    @router.get("/teamleitung/dashboard", response_class=HTMLResponse)
    def dashboard(
        request: Request, benutzer: Leitung, session: SessionDep,
        zeitraum: Annotated[str, Query(max_length=20)] = "heute",
        von: Annotated[str, Query(max_length=20)] = "",
        bis: Annotated[str, Query(max_length=20)] = "",
    ):
        s = request.app.state.settings
        jetzt = (getattr(request.app.state, "uhr", None) or _jetzt)()
        fehler, status = None, 200
        try:
            z = _zeitraum(request, zeitraum, von, bis)
        except service.ZeitraumFehler as e:
            fehler, status = str(e), 422
            z = _zeitraum(request, "heute", "", "")
        d = service.dashboard(session, z, jetzt=jetzt, schwelle=s.servicelevel_sekunden)
        vs, vt, vsl = (d.verlaeufe["volumen_stunde"], d.verlaeufe["volumen_tag"],
                       d.verlaeufe["servicelevel_verlauf"])
        diagramme = {
            "volumen_stunde": svg.balken("Aufkommen je Stunde", _summe_text(vs, "um"), vs.beschriftungen, vs.reihen),
            "volumen_tag": svg.balken("Aufkommen je Tag", _summe_text(vt, "am"), vt.beschriftungen, vt.reihen),
            "servicelevel_verlauf": svg.linie(
                "Servicelevel im Verlauf", _sl_text(vsl), vsl.beschriftungen, vsl.reihen["Servicelevel"],
                ziel=service.ZIEL_SERVICELEVEL,
            ),
        }
        abfrage = f"zeitraum={z.name}" + (f"&von={z.von.date().isoformat()}&bis={z.tage[-1].isoformat()}"
                                          if z.name == "frei" else "")
        return templates.TemplateResponse(request, "reporting/dashboard.html", {
            "benutzer": benutzer, "d": d, "z": z, "fehler": fehler, "diagramme": diagramme, "abfrage": abfrage,
            "zeitraeume": service.ZEITRAEUME, "prozent": service.prozent, "figur_titel": FIGUR_TITEL,
            "von": von or z.von.date().isoformat(), "bis": bis or z.tage[-1].isoformat(),
            "schwelle": s.servicelevel_sekunden,
        }, status_code=status)

    @router.get("/teamleitung/export/{figur}.csv")
    def export(
        request: Request, figur: str, benutzer: Leitung, session: SessionDep,
        zeitraum: Annotated[str, Query(max_length=20)] = "heute",
        von: Annotated[str, Query(max_length=20)] = "",
        bis: Annotated[str, Query(max_length=20)] = "",
    ) -> Response:
        if figur not in service.FIGUREN:
            raise HTTPException(404, "Diese Kennzahl gibt es nicht.")
        try:
            z = _zeitraum(request, zeitraum, von, bis)
        except service.ZeitraumFehler as e:
            raise HTTPException(422, str(e)) from e
        jetzt = (getattr(request.app.state, "uhr", None) or _jetzt)()
        tabelle = service.figur_tabelle(session, figur, z, jetzt=jetzt,
                                        schwelle=request.app.state.settings.servicelevel_sekunden)
        if tabelle is None:
            raise HTTPException(404, "Für diese Kennzahl gibt es (noch) keine Daten: die Funktion ist nicht eingerichtet.")
        name = f"{figur}_{z.von.date().isoformat()}_{z.tage[-1].isoformat()}.csv"
        return Response(
            service.als_csv(tabelle), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router

"""Open311 GeoReport v2 under /open311/v2/: one catch-all route per method that splits the format suffix at the
last dot (codes such as `2.4.3` stay intact), so FastAPI never validates (no 422) and every error, also an
unknown path, is an Open311 `errors` list in the requested format with HTTP 400, 403 or 404."""

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from servicecenter.open311 import service
from servicecenter.status.service import status_link
from servicecenter.tickets.service import TicketEinstellungen
from wissensdatenbank.basis import jetzt as _jetzt

log = logging.getLogger(__name__)
PREFIX = "/open311/v2"
FORMATE = ("xml", "json")
# Container elements and the name of their repeated child (Spark convention).
KINDER = {
    "services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
    "errors": "error", "endpoints": "endpoint", "formats": "format", "media_urls": "media_url",
}
MEDIENTYP = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


# --- rendering ------------------------------------------------------------------------------------------------------


def _xml_text(wert: Any) -> str | None:
    if wert is None:
        return None
    if isinstance(wert, bool):
        return "true" if wert else "false"
    return str(wert)


def _xml_fuellen(element: ET.Element, wert: Any) -> None:
    if isinstance(wert, dict):
        for k, v in wert.items():
            _xml_fuellen(ET.SubElement(element, k), v)
    elif isinstance(wert, list):
        kind = KINDER.get(element.tag, "item")
        for v in wert:
            _xml_fuellen(ET.SubElement(element, kind), v)
    else:
        element.text = _xml_text(wert)


def xml_rendern(wurzel: str, daten: Any) -> bytes:
    """No namespace, no attributes, the spec's element names; empty optional values become empty elements."""
    element = ET.Element(wurzel)
    _xml_fuellen(element, daten)
    # A literal CR would be normalised away by every XML parser; the character reference keeps CRLF intact.
    text = ET.tostring(element, encoding="unicode").replace("\r", "&#13;")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + text.encode("utf-8")


def antwort(fmt: str, wurzel: str, daten: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if fmt == "json":
        inhalt = json.dumps(daten, ensure_ascii=False).encode("utf-8")  # the root element is dropped
    else:
        inhalt = xml_rendern(wurzel, daten)
    return Response(inhalt, status_code=status, headers={"Content-Type": MEDIENTYP[fmt], **(headers or {})})


def fehler_antwort(fmt: str, exc: service.Open311Fehler) -> Response:
    daten = [{"code": code, "description": text} for code, text in exc.fehler]
    return antwort(fmt if fmt in FORMATE else "xml", "errors", daten, status=exc.status)


def uhr(request: Request):
    return (getattr(request.app.state, "uhr", None) or _jetzt)()


# --- path handling --------------------------------------------------------------------------------------------------


def pfad_zerlegen(pfad: str, format_param: str) -> tuple[list[str], str]:
    """('services', '2.4.3') and 'json' from 'services/2.4.3.json'. Without suffix the `format` parameter or
    XML (the required format) applies; a resource name with an unknown suffix is a 400."""
    teile = [t for t in pfad.split("/") if t]
    if not teile:
        raise service.Open311Fehler(404, "Diese Adresse gibt es nicht. Beginnen Sie mit discovery.xml oder services.xml.")
    letzter = teile[-1]
    fmt = ""
    if "." in letzter:
        stamm, endung = letzter.rsplit(".", 1)
        if endung.lower() in FORMATE:
            teile[-1], fmt = stamm, endung.lower()
        elif len(teile) == 1:
            raise service.Open311Fehler(400, f"Das Format {endung[:20]} gibt es nicht; möglich sind xml und json.")
    if not fmt:
        fmt = (format_param or "xml").strip().lower()
        if fmt not in FORMATE:
            raise service.Open311Fehler(400, f"Das Format {fmt[:20]} gibt es nicht; möglich sind xml und json.")
    return teile, fmt


def _jurisdiktion_pruefen(wert: str, eigene: str) -> None:
    """Single jurisdiction: absent or empty or ours is fine; any other value is an unknown jurisdiction."""
    wert = (wert or "").strip()
    if wert and wert.lower() != eigene.lower():
        raise service.Open311Fehler(404, f"Die jurisdiction_id {wert[:60]} wird hier nicht bedient; "
                                         f"dieser Server bedient {eigene}.")


# --- router ------------------------------------------------------------------------------------------------------------


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["Open311 GeoReport v2"])
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    def umgebung(request: Request) -> tuple[Any, ZoneInfo]:
        s = request.app.state.settings
        return s, ZoneInfo(s.zeitzone)

    def basis_url(request: Request) -> str:
        return request.app.state.settings.oeffentliche_url.rstrip("/") or str(request.base_url).rstrip("/")

    def lesen(request: Request, session: Session, teile: list[str], fmt: str) -> Response:
        settings, tz = umgebung(request)
        q = request.query_params
        _jurisdiktion_pruefen(q.get("jurisdiction_id", ""), settings.open311_jurisdiction_id)
        match teile:
            case ["discovery"]:
                stand = service.datum_schreiben(service.changeset(session), tz)
                return antwort(fmt, "discovery", {
                    "changeset": stand,
                    "contact": settings.open311_kontakt,
                    "key_service": "Einen api_key für Ihre Anwendung erhalten Sie beim Servicecenter 115 der Stadt "
                                   "Halle (Saale); GET-Abfragen brauchen keinen Schlüssel.",
                    "endpoints": [{
                        "specification": service.SPEZIFIKATION,
                        "url": basis_url(request) + PREFIX,
                        "changeset": stand,
                        "type": "production",
                        "formats": ["text/xml", "application/json"],
                    }],
                })
            case ["services"]:
                return antwort(fmt, "services", service.services(session))
            case ["services", code]:
                return antwort(fmt, "service_definition", service.service_definition(session, code))
            case ["requests"]:
                return antwort(fmt, "service_requests", service.requests_suchen(session, q, tz=tz, jetzt=uhr(request)))
            case ["requests", request_id]:
                erweitert = q.get("extensions", "").lower() == "true"
                return antwort(fmt, "service_requests",
                               service.request_laden(session, request_id, tz=tz, erweitert=erweitert))
            case ["tokens", token]:
                return antwort(fmt, "service_requests", service.token_laden(token))
        raise service.Open311Fehler(404, "Diese Adresse gibt es nicht.")

    def anlegen(request: Request, session: Session, eingabe: service.Eingabe, fmt: str,
                key_aus_query: str) -> Response:
        settings, tz = umgebung(request)
        _jurisdiktion_pruefen(eingabe.eins("jurisdiction_id") or request.query_params.get("jurisdiction_id", ""),
                              settings.open311_jurisdiction_id)
        schluessel = service.schluessel_pruefen(session, eingabe.eins("api_key") or key_aus_query)
        ticket, _ = service.meldung_anlegen(
            session, eingabe, schluessel=schluessel, einstellungen=TicketEinstellungen.aus(settings),
            region=settings.region, gebiet=service.Gebiet.aus_text(settings.open311_bbox), tz=tz,
            jetzt=uhr(request),
        )
        log.info("open311_meldung", extra={"ticket": ticket.nummer, "schluessel_id": schluessel.id})
        daten = service.post_antwort(ticket, status_link(basis_url(request), ticket.nummer))
        return antwort(fmt, "service_requests", daten)

    @router.get("/{pfad:path}", summary="GeoReport v2: discovery, services, requests, tokens (.xml/.json)")
    async def get(pfad: str, request: Request, session: Sitzung) -> Response:
        fmt = "xml"
        try:
            teile, fmt = pfad_zerlegen(pfad, request.query_params.get("format", ""))
            return await run_in_threadpool(lesen, request, session, teile, fmt)
        except service.Open311Fehler as exc:
            return fehler_antwort(fmt, exc)

    @router.post("/{pfad:path}", summary="GeoReport v2: POST requests (form-encoded, api_key)")
    async def post(pfad: str, request: Request, session: Sitzung) -> Response:
        fmt = "xml"
        try:
            teile, fmt = pfad_zerlegen(pfad, request.query_params.get("format", ""))
            if teile != ["requests"]:
                raise service.Open311Fehler(400, "POST ist nur für requests möglich.", code=405)
            art = request.headers.get("content-type", "")
            if art and not art.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                raise service.Open311Fehler(400, "Der Inhalt muss application/x-www-form-urlencoded sein.")
            try:
                form = await request.form()
            except Exception as exc:  # malformed multipart and the like
                raise service.Open311Fehler(400, "Der Inhalt der Anfrage lässt sich nicht lesen.") from exc
            eingabe = service.Eingabe.aus(form.multi_items())
            if "format" in eingabe.werte and "." not in pfad.rsplit("/", 1)[-1]:
                fmt = eingabe.eins("format").lower() if eingabe.eins("format").lower() in FORMATE else fmt
            return await run_in_threadpool(anlegen, request, session, eingabe, fmt,
                                           request.query_params.get("api_key", ""))
        except service.Open311Fehler as exc:
            await run_in_threadpool(session.rollback)  # nothing of a refused report is kept
            return fehler_antwort(fmt, exc)

    @router.api_route("/{pfad:path}", methods=["PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def andere(pfad: str) -> Response:
        fmt = "json" if pfad.endswith(".json") else "xml"
        return fehler_antwort(fmt, service.Open311Fehler(400, "Diese Methode wird nicht unterstützt.", code=405))

    return router


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    app.include_router(make_router(get_session=get_session))

"""Open311 GeoReport v2: discovery, services, definitions, POST in the FixMyStreet form shape, request lists
with the spec's filters, XML and Spark JSON, Open311 errors (400/403/404, never 422), the api_key CLI.
Small own fixtures only; the conformance checks against the real payloads live in korpus/test_open311.py."""

import hashlib
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from servicecenter.open311 import service as o3
from servicecenter.open311.api import xml_rendern
from servicecenter.open311.models import Open311Meldung, Open311Schluessel
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Ticket
from servicecenter.tickets.zustaende import Zustand
from wissensdatenbank.models import (
    Leistung,
    LeistungArt,
    LeistungStatus,
    Organisationseinheit,
    Zustaendigkeit,
)

WURZEL = Path(__file__).resolve().parents[2]
V2 = "/open311/v2"
JETZT = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def katalog(db_session):
    tiefbau = Organisationseinheit(name="Tiefbauamt")
    ordnung = Organisationseinheit(name="Ordnungsamt")
    db_session.add_all([tiefbau, ordnung])
    db_session.flush()

    def leistung(quelle_id, name, **kw):
        kw.setdefault("art", LeistungArt.maengelmeldung)
        kw.setdefault("status", LeistungStatus.veroeffentlicht)
        l = Leistung(leistungsname=name, quelle_id=quelle_id, teaser=f"{name}: kurz erklärt.",
                     suchbegriffe=["Schlagloch", "private", "Straße kaputt"], lebenslagen=["Auto und Verkehr"], **kw)
        db_session.add(l)
        db_session.flush()
        return l

    schaden = leistung("strassenschaden-melden", "Straßenschaden melden")
    muell = leistung("illegale-muellablagerung-melden", "Illegale Müllablagerung melden")
    graffiti = leistung("graffiti-melden", "Graffiti melden")
    leistung("entwurf-melden", "Entwurf", status=LeistungStatus.entwurf)
    leistung("ausweis", "Personalausweis beantragen", art=LeistungArt.leistung)
    db_session.add_all([
        Zustaendigkeit(leistung_id=schaden.id, organisationseinheit_id=ordnung.id, region="999999999999"),
        Zustaendigkeit(leistung_id=schaden.id, organisationseinheit_id=tiefbau.id, region="150020000000"),
        Zustaendigkeit(leistung_id=muell.id, organisationseinheit_id=ordnung.id, region="150020000000"),
    ])
    db_session.commit()
    return {"schaden": schaden, "muell": muell, "graffiti": graffiti, "tiefbau": tiefbau, "ordnung": ordnung}


@pytest.fixture
def schluessel(db_session, katalog):
    k = o3.schluessel_anlegen(db_session, name="FixMyStreet Halle")
    db_session.commit()
    return k


@pytest.fixture
def c(client, app):
    app.state.uhr = lambda: JETZT
    return client


def fms_body(schluessel, **extra):
    """The exact shape FixMyStreet sends: form-encoded, attribute[code], repeated keys, several media_url."""
    felder = [
        ("api_key", schluessel), ("jurisdiction_id", "halle.de"), ("service_code", "strassenschaden-melden"),
        ("lat", "51.482300"), ("long", "11.969700"), ("address_string", "Marktplatz 1, 06108 Halle (Saale)"),
        ("email", "erika@example.org"), ("first_name", "Erika"), ("last_name", "Mustermann"),
        ("description", "Schlagloch vor der Marienkirche, etwa 30 cm breit.\r\nGefährlich für Radfahrer."),
        ("media_url", "https://fms.example/photo/1.jpeg"), ("media_url", "https://fms.example/photo/2.jpeg"),
        ("attribute[betroffen]", "fahrbahn"), ("attribute[fixmystreet_id]", "4711"),
        ("attribute[groesse]", "30 cm"),
    ]
    ersetzt = {k for k in extra}
    felder = [(k, v) for k, v in felder if k not in ersetzt]
    for k, v in extra.items():
        if v is None:
            continue
        felder.extend((k, x) for x in (v if isinstance(v, list) else [v]))
    return urlencode(felder)


def melden(c, schluessel, fmt="json", **extra):
    return c.post(f"{V2}/requests.{fmt}", content=fms_body(schluessel, **extra), headers=FORM)


def fehler_json(r):
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    d = r.json()
    assert isinstance(d, list) and all(set(e) == {"code", "description"} for e in d)
    return d


def xml(r):
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(r.content)


# --- discovery and services --------------------------------------------------------------------------------


def test_discovery_json_und_xml(c, katalog):
    d = c.get(f"{V2}/discovery.json").json()
    assert set(d) == {"changeset", "contact", "key_service", "endpoints"} and ISO.match(d["changeset"])
    (ep,) = d["endpoints"]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2" and ep["type"] == "production"
    assert ep["url"].endswith("/open311/v2") and ep["formats"] == ["text/xml", "application/json"]
    wurzel = xml(c.get(f"{V2}/discovery.xml"))
    assert wurzel.tag == "discovery" and not wurzel.attrib
    assert [f.text for f in wurzel.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_services_nur_veroeffentlichte_maengelmeldungen(c, katalog):
    r = c.get(f"{V2}/services.json")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    services = r.json()
    assert [s["service_code"] for s in services] == [
        "graffiti-melden", "illegale-muellablagerung-melden", "strassenschaden-melden"]
    s = services[2]
    assert list(s) == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert s["service_name"] == "Straßenschaden melden" and s["metadata"] is True and s["type"] == "realtime"
    assert s["keywords"] == "Schlagloch, Straße kaputt" and s["group"] == "Auto und Verkehr"
    assert services[0]["metadata"] is False


def test_services_xml_namen_und_booleans(c, katalog):
    wurzel = xml(c.get(f"{V2}/services.xml"))
    assert wurzel.tag == "services" and [e.tag for e in wurzel] == ["service"] * 3
    assert wurzel.find("service/metadata").text == "false" and wurzel[2].find("metadata").text == "true"
    assert wurzel[2].find("service_name").text == "Straßenschaden melden"


def test_format_parameter_und_unbekanntes_format(c, katalog):
    assert c.get(f"{V2}/services", params={"format": "json"}).json()[0]["service_code"] == "graffiti-melden"
    assert xml(c.get(f"{V2}/services")).tag == "services"  # XML is the default
    r = c.get(f"{V2}/services.yaml")
    assert r.status_code == 400 and xml(r).find("error/code").text == "400"


def test_service_definition(c, katalog):
    d = c.get(f"{V2}/services/illegale-muellablagerung-melden.json").json()
    assert d["service_code"] == "illegale-muellablagerung-melden"
    erstes, zweites = d["attributes"]
    assert erstes["code"] == "gefaehrliche_stoffe" and erstes["required"] is True and erstes["variable"] is True
    assert erstes["datatype"] == "singlevaluelist" and erstes["order"] == 1
    assert {"key": "ja", "name": "Ja"} in erstes["values"]
    assert zweites["datatype"] == "multivaluelist" and zweites["order"] == 2
    wurzel = xml(c.get(f"{V2}/services/illegale-muellablagerung-melden.xml"))
    assert wurzel.tag == "service_definition"
    assert [a.find("code").text for a in wurzel.findall("attributes/attribute")] == ["gefaehrliche_stoffe",
                                                                                     "abfallart"]
    assert wurzel.find("attributes/attribute/required").text == "true"
    assert wurzel.find("attributes/attribute/values/value/key").text == "ja"
    leer = c.get(f"{V2}/services/graffiti-melden.json").json()
    assert leer == {"service_code": "graffiti-melden", "attributes": []}


def test_unbekannte_codes_und_pfade_sind_open311_404(c, katalog):
    r = c.get(f"{V2}/services/2.4.3.xml")  # dotted codes: the suffix is split at the last dot
    assert r.status_code == 404 and "2.4.3" in xml(r).find("error/description").text
    r = c.get(f"{V2}/services/entwurf-melden.json")
    assert r.status_code == 404 and fehler_json(r)[0]["code"] == 404
    r = c.get(f"{V2}/gibtsnicht.json")
    assert r.status_code == 404 and fehler_json(r)
    r = c.get(f"{V2}/requests/115-2026-999999.json")
    assert r.status_code == 404 and fehler_json(r)
    r = c.get(f"{V2}/tokens/abc.json")
    assert r.status_code == 404 and fehler_json(r)


def test_jurisdiction(c, katalog):
    assert c.get(f"{V2}/services.json", params={"jurisdiction_id": "halle.de"}).status_code == 200
    assert c.get(f"{V2}/services.json", params={"jurisdiction_id": ""}).status_code == 200
    r = c.get(f"{V2}/services.json", params={"jurisdiction_id": "ville.quebec.qc.ca"})
    assert r.status_code == 404 and "halle.de" in fehler_json(r)[0]["description"]


# --- POST -----------------------------------------------------------------------------------------------------------


def test_post_fixmystreet_form_legt_geroutetes_ticket_an(c, katalog, schluessel, db_session):
    r = melden(c, schluessel)
    assert r.status_code == 200, r.text
    (antwort,) = r.json()
    nummer = antwort["service_request_id"]
    assert re.fullmatch(r"115-2026-\d{6}", nummer) and "token" not in antwort
    assert "Zugangscode" in antwort["service_notice"] and "/status?nummer=" in antwort["service_notice"]
    t = db_session.scalar(select(Ticket).where(Ticket.nummer == nummer))
    assert t.queue_id == katalog["tiefbau"].id  # the Zuständigkeit of our region wins
    assert t.leistung_id == katalog["schaden"].id and t.kanal == o3.KANAL and t.erstellt_von_id is None
    assert t.kontakt_email == "erika@example.org" and t.kontakt_name == "Erika Mustermann" and t.einwilligung
    assert "Marktplatz 1" in t.anliegen and "51.482300, 11.969700" in t.anliegen and "Fahrbahn" in t.anliegen
    m = db_session.scalar(select(Open311Meldung).where(Open311Meldung.ticket_id == t.id))
    assert m.media_urls == ["https://fms.example/photo/1.jpeg", "https://fms.example/photo/2.jpeg"]
    assert m.attribute == {"betroffen": ["fahrbahn"], "groesse": ["30 cm"]}  # fixmystreet_id: not declared, ignored
    assert m.beschreibung.startswith("Schlagloch vor der Marienkirche") and "\r\n" in m.beschreibung
    assert db_session.get(Open311Schluessel, m.schluessel_id).zuletzt_benutzt_am is not None


def test_post_xml_antwort(c, katalog, schluessel):
    wurzel = xml(melden(c, schluessel, fmt="xml"))
    assert wurzel.tag == "service_requests"
    assert re.fullmatch(r"115-2026-\d{6}", wurzel.find("request/service_request_id").text)


def test_post_multivaluelist_beide_formen(c, katalog, schluessel, db_session):
    for schluessel_name in ("attribute[abfallart]", "attribute[abfallart][]"):
        r = melden(c, schluessel, service_code="illegale-muellablagerung-melden",
                   **{"attribute[gefaehrliche_stoffe]": "nein", schluessel_name: ["reifen", "saecke"]})
        assert r.status_code == 200, r.text
        m = db_session.scalar(select(Open311Meldung).join(Ticket, Ticket.id == Open311Meldung.ticket_id)
                              .where(Ticket.nummer == r.json()[0]["service_request_id"]))
        assert m.attribute["abfallart"] == ["reifen", "saecke"]
        t = db_session.get(Ticket, m.ticket_id)
        assert t.queue_id == katalog["ordnung"].id


@pytest.mark.parametrize("schluessel_wert", [None, "", "falsch"])
def test_post_ohne_oder_mit_falschem_key_403(c, katalog, schluessel, schluessel_wert, db_session):
    r = melden(c, schluessel, api_key=schluessel_wert)
    assert r.status_code == 403 and fehler_json(r)[0]["code"] == 403
    assert db_session.scalar(select(Ticket.id)) is None


def test_post_key_in_query_und_deaktivierter_key(c, katalog, schluessel, db_session):
    body = fms_body(schluessel, api_key=None)
    assert c.post(f"{V2}/requests.json?api_key={schluessel}", content=body, headers=FORM).status_code == 200
    db_session.scalar(select(Open311Schluessel)).aktiv = False
    db_session.commit()
    assert c.post(f"{V2}/requests.json?api_key={schluessel}", content=body, headers=FORM).status_code == 403


def test_schluessel_nur_als_hash(db_session, schluessel):
    gespeichert = db_session.scalar(select(Open311Schluessel))
    assert gespeichert.schluessel_hash == hashlib.sha256(schluessel.encode()).hexdigest()
    assert schluessel not in gespeichert.schluessel_hash


@pytest.mark.parametrize(("extra", "status", "teil"), [
    ({"service_code": None}, 400, "service_code fehlt"),
    ({"service_code": "gibtsnicht"}, 404, "gibtsnicht"),
    ({"service_code": "entwurf-melden"}, 404, "entwurf-melden"),
    ({"lat": None, "long": None, "address_string": None}, 400, "Ort fehlt"),
    ({"long": None}, 400, "lat und long"),
    ({"lat": "abc"}, 400, "lat und long"),
    ({"lat": "48.137", "long": "11.575"}, 400, "außerhalb des Stadtgebiets"),
    ({"lat": "91", "long": "11.97"}, 400, "außerhalb des gültigen Bereichs"),
    ({"attribute[betroffen]": "dach"}, 400, "attribute[betroffen]"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"email": "kein-at-zeichen"}, 400, "email"),
    ({"jurisdiction_id": "bonn.de"}, 404, "jurisdiction_id"),
])
def test_post_fehler(c, katalog, schluessel, extra, status, teil, db_session):
    r = melden(c, schluessel, **extra)
    assert r.status_code == status, r.text
    assert any(teil in e["description"] for e in fehler_json(r))
    assert db_session.scalar(select(Ticket.id)) is None


def test_post_pflichtattribut_und_mehrere_fehler_auf_einmal(c, katalog, schluessel):
    r = melden(c, schluessel, service_code="illegale-muellablagerung-melden", lat="1", long=None,
               **{"attribute[abfallart]": "atommuell"})
    assert r.status_code == 400
    texte = " | ".join(e["description"] for e in fehler_json(r))
    assert "attribute[gefaehrliche_stoffe] fehlt" in texte and "lat und long" in texte and "atommuell" in texte


def test_post_nur_adresse_genuegt_und_html_wird_entfernt(c, katalog, schluessel, db_session):
    r = melden(c, schluessel, lat=None, long=None, description="<b>Loch</b> &amp; Riss<script>x</script>")
    assert r.status_code == 200, r.text
    m = db_session.scalar(select(Open311Meldung))
    assert m.lat is None and m.beschreibung == "Loch & Rissx"


def test_post_lange_beschreibung_intern_voll_aussen_4000(c, katalog, schluessel, db_session):
    lang = "Schlagloch. " * 500
    nummer = melden(c, schluessel, description=lang).json()[0]["service_request_id"]
    t = db_session.scalar(select(Ticket).where(Ticket.nummer == nummer))
    assert lang.strip() in t.anliegen
    (record,) = c.get(f"{V2}/requests/{nummer}.json").json()
    assert len(record["description"]) == 4000


def test_post_nie_422(c, katalog, schluessel):
    r = c.post(f"{V2}/requests.json", content=b"\xff\xfe kaputt", headers=FORM)
    assert r.status_code in (400, 403) and fehler_json(r)
    r = c.post(f"{V2}/requests.json", json={"api_key": schluessel})
    assert r.status_code == 400 and fehler_json(r)
    r = c.post(f"{V2}/services.json", content="", headers=FORM)
    assert r.status_code == 400 and fehler_json(r)[0]["code"] == 405


# --- GET requests -------------------------------------------------------------------------------------------------------


@pytest.fixture
def meldungen(c, app, katalog, schluessel, db_session):
    """Three reports: 100 days ago (closed), 10 days ago, now; returns their numbers, oldest first."""
    nummern = []
    for tage, code in ((100, "strassenschaden-melden"), (10, "illegale-muellablagerung-melden"),
                       (0, "strassenschaden-melden")):
        app.state.uhr = lambda t=tage: JETZT - timedelta(days=t)
        extra = {"service_code": code}
        if code.startswith("illegale"):
            extra["attribute[gefaehrliche_stoffe]"] = "nein"
        r = melden(c, schluessel, **extra)
        assert r.status_code == 200, r.text
        nummern.append(r.json()[0]["service_request_id"])
    app.state.uhr = lambda: JETZT
    alt = db_session.scalar(select(Ticket).where(Ticket.nummer == nummern[0]))
    ts.ticket_aendern(db_session, alt, version=None, benutzer=None, einstellungen=ts.TicketEinstellungen(),
                      status=Zustand.erledigt, jetzt=JETZT - timedelta(days=99))
    db_session.commit()
    return nummern


def ids(r):
    assert r.status_code == 200, r.text
    return [x["service_request_id"] for x in r.json()]


def test_requests_standard_90_tage_neueste_zuerst_ohne_persoenliches(c, meldungen):
    r = c.get(f"{V2}/requests.json")
    assert ids(r) == [meldungen[2], meldungen[1]]
    rec = r.json()[0]
    for feld in ("service_request_id", "status", "service_name", "service_code", "description", "requested_datetime",
                 "updated_datetime", "address", "lat", "long", "media_url"):
        assert feld in rec
    assert rec["status"] == "open" and rec["lat"] == pytest.approx(51.4823) and isinstance(rec["long"], float)
    assert ISO.match(rec["requested_datetime"]) and rec["requested_datetime"].endswith("+01:00")
    assert rec["zipcode"] == "06108" and rec["agency_responsible"] == "Tiefbauamt"
    assert rec["media_url"] == "https://fms.example/photo/1.jpeg"
    for geheim in ("erika", "Erika", "Mustermann", "api_key", "fixmystreet"):
        assert geheim not in r.text


def test_requests_ids_ueberschreiben_alles(c, meldungen):
    r = c.get(f"{V2}/requests.json", params={"service_request_id": f"{meldungen[0]},115-2026-999999, {meldungen[2]}",
                                                "status": "open"})
    assert set(ids(r)) == {meldungen[0], meldungen[2]}


def test_requests_filter(c, meldungen):
    assert ids(c.get(f"{V2}/requests.json", params={"service_code": "illegale-muellablagerung-melden"})) == \
        [meldungen[1]]
    zeitraum = {"start_date": "2026-06-01T00:00:00+02:00", "end_date": "2026-08-20T00:00:00+02:00"}
    assert ids(c.get(f"{V2}/requests.json", params=zeitraum)) == [meldungen[0]]
    geschlossen = c.get(f"{V2}/requests.json", params={**zeitraum, "status": "closed"})
    assert ids(geschlossen) == [meldungen[0]] and geschlossen.json()[0]["status"] == "closed"
    assert ids(c.get(f"{V2}/requests.json", params={**zeitraum, "status": "open"})) == []
    # an unencoded "+" arrives as a blank
    roh = c.get(f"{V2}/requests.json?start_date=2026-11-01T00:00:00+01:00&end_date=2026-11-30T00:00:00+01:00")
    assert ids(roh) == [meldungen[2], meldungen[1]]
    assert ids(c.get(f"{V2}/requests.json", params={"start_date": "2026-11-10"})) == [meldungen[2]]


@pytest.mark.parametrize("params", [
    {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
    {"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
    {"start_date": "gestern"},
    {"status": "in_process"},
    {"service_code": "gibtsnicht"},
    {"page_size": "5000"},
])
def test_requests_ungueltige_filter_400(c, meldungen, params):
    r = c.get(f"{V2}/requests.json", params=params)
    assert r.status_code == 400 and fehler_json(r)


def test_requests_seiten(c, meldungen):
    assert ids(c.get(f"{V2}/requests.json", params={"page_size": "1", "page": "2"})) == [meldungen[1]]
    assert ids(c.get(f"{V2}/requests.json", params={"page_size": "1", "page": "9"})) == []


def test_einzelne_meldung_json_array_und_xml(c, meldungen):
    r = c.get(f"{V2}/requests/{meldungen[1]}.json")
    assert ids(r) == [meldungen[1]]
    wurzel = xml(c.get(f"{V2}/requests/{meldungen[1]}.xml"))
    assert wurzel.tag == "service_requests" and wurzel.find("request/service_request_id").text == meldungen[1]
    assert wurzel.find("request/agency_responsible").text == "Ordnungsamt"
    erweitert = c.get(f"{V2}/requests/{meldungen[0]}.json", params={"extensions": "true"}).json()[0]
    assert erweitert["extended_attributes"] == {
        "detailed_status": "PROCESSED",
        "media_urls": ["https://fms.example/photo/1.jpeg", "https://fms.example/photo/2.jpeg"]}
    assert erweitert["status"] == "closed" and erweitert["updated_datetime"] == "2026-08-09T11:00:00+02:00"


def test_xml_escaping_und_umlaute():
    roh = xml_rendern("service_requests", [{"description": "Müll & <Dreck>", "lat": 51.5, "x": None, "b": True}])
    wurzel = ET.fromstring(roh)
    assert wurzel.find("request/description").text == "Müll & <Dreck>"
    assert b"&amp; &lt;Dreck&gt;" in roh and wurzel.find("request/x").text is None
    assert wurzel.find("request/b").text == "true"
    crlf = ET.fromstring(xml_rendern("errors", [{"description": "a\r\nb"}]))
    assert crlf.find("error/description").text == "a\r\nb"


def test_datum_lesen_liberal():
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Berlin")
    assert o3.datum_lesen("2026-11-01T10:00:00,5Z", tz, feld="x") == datetime(2026, 11, 1, 10, 0, 0, 500000, UTC)
    assert o3.datum_lesen("2026-11-01T11:00:00 01:00", tz, feld="x") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert o3.datum_lesen("2026-11-01T11:00:00", tz, feld="x") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert o3.datum_schreiben(datetime(2026, 7, 1, 10, 0, 0, 999, tzinfo=UTC), tz) == "2026-07-01T12:00:00+02:00"


# --- CLI ------------------------------------------------------------------------------------------------------------------


def test_cli_schluessel(tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": url}
    lauf = subprocess.run([sys.executable, "-m", "servicecenter.cli", "open311", "schluessel", "FixMyStreet Halle"],
                          capture_output=True, text=True, env=env, cwd=WURZEL, timeout=300)
    assert lauf.returncode == 0, lauf.stderr
    schluessel = lauf.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", schluessel) and "nur dieses eine Mal" in lauf.stderr
    import sqlite3

    name, h = sqlite3.connect(url.removeprefix("sqlite:///")).execute(
        "SELECT name, schluessel_hash FROM open311_schluessel").fetchone()
    assert name == "FixMyStreet Halle" and h == hashlib.sha256(schluessel.encode()).hexdigest()

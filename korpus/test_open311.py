"""Open311 conformance against the real payloads in ../shared/data/open311 (read from there, never copied):
US server responses and spec examples (node-open311 mocks, BSD) for the shapes, and the real Köln request
records ("Stadt Köln – Sag's uns", via rOpenGov/r311, MIT) for German content that must round-trip in JSON and XML."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from servicecenter.app import create_app
from servicecenter.db import make_engine, make_sessionmaker, session_scope
from servicecenter.open311.service import schluessel_anlegen
from servicecenter.settings import Settings

V2 = "/open311/v2"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture(scope="module")
def open311(korpus):
    return korpus / "open311"


@pytest.fixture(scope="module")
def client(demo_db) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(database_url=demo_db, db_auto_upgrade=False, suche_index_beim_start=False, _env_file=None)
    with session_scope(make_sessionmaker(make_engine(demo_db))) as s:
        schluessel = schluessel_anlegen(s, name="Korpus")
    with TestClient(create_app(settings)) as c:
        yield c, schluessel


def kinder(element: ET.Element) -> list[str]:
    return [k.tag for k in element]


def test_service_liste_wie_dc(open311, client):
    c, _ = client
    dc = ET.parse(open311 / "us-node-open311/dc-services.xml").getroot()
    unser = ET.fromstring(c.get(f"{V2}/services.xml").content)
    assert unser.tag == dc.tag == "services"
    assert {k.tag for k in unser} == {k.tag for k in dc} == {"service"}
    assert set(kinder(unser[0])) == set(kinder(dc[0]))
    for s in unser:
        assert s.find("metadata").text in ("true", "false") and s.find("type").text == "realtime"


def test_service_definition_wie_dc(open311, client):
    c, _ = client
    dc = ET.parse(open311 / "us-node-open311/dc-services-S0301.xml").getroot()
    unser = ET.fromstring(c.get(f"{V2}/services/illegale-muellablagerung-melden.xml").content)
    assert unser.tag == dc.tag == "service_definition"
    assert kinder(unser) == kinder(dc) == ["service_code", "attributes"]
    dc_felder = set(kinder(dc.find("attributes/attribute")))
    for a in unser.findall("attributes/attribute"):
        assert set(kinder(a)) <= dc_felder and {"variable", "code", "datatype", "required", "order",
                                               "description"} <= set(kinder(a))
    dc_wert = dc.find("attributes/attribute/values/value")
    assert kinder(unser.find("attributes/attribute/values/value")) == kinder(dc_wert) == ["key", "name"]


def test_discovery_wie_boston_aber_iso_changeset(open311, client):
    c, _ = client
    boston = json.loads((open311 / "us-node-open311/discovery-boston.json").read_text(encoding="utf-8"))
    unser = c.get(f"{V2}/discovery.json").json()
    assert set(unser) == set(boston)
    assert set(unser["endpoints"][0]) == set(boston["endpoints"][0])
    assert ISO.match(unser["changeset"])  # Boston's "2011-09-1 17:35" is what not to do (P19)
    dc = ET.parse(open311 / "us-node-open311/discovery-dc.xml").getroot()
    unser_xml = ET.fromstring(c.get(f"{V2}/discovery.xml").content)
    assert unser_xml.tag == dc.tag and set(kinder(unser_xml)) == set(kinder(dc))


def test_fehler_wie_boston(open311, client):
    c, _ = client
    boston = ET.parse(open311 / "us-node-open311/boston-err-submitrequest-base_is_duplicate.xml").getroot()
    unser = ET.fromstring(c.post(f"{V2}/requests.xml", content="service_code=x", headers=FORM).content)
    assert unser.tag == boston.tag == "errors"
    assert kinder(unser[0]) == kinder(boston[0]) == ["code", "description"]


def test_koeln_meldungen_round_trip(open311, client):
    """The 50 real Köln records as FixMyStreet-shaped POSTs (address only: Köln lies outside our area), then read
    back: field names and types as in Köln's own output, German text intact in JSON and XML."""
    c, schluessel = client
    koeln = json.loads((open311 / "koeln/requests_archive_2023-12.json").read_text(encoding="utf-8"))
    assert len(koeln) == 50
    nummern = {}
    for rec in koeln:
        felder = [("api_key", schluessel), ("service_code", "illegale-muellablagerung-melden"),
                  ("address_string", rec["address"]), ("description", rec.get("description") or ""),
                  ("attribute[gefaehrliche_stoffe]", "unbekannt")]
        if rec.get("media_url"):
            felder.append(("media_url", rec["media_url"]))
        r = c.post(f"{V2}/requests.json", content=urlencode(felder), headers=FORM)
        assert r.status_code == 200, r.text
        nummern[r.json()[0]["service_request_id"]] = rec

    liste = c.get(f"{V2}/requests.json", params={"service_request_id": ",".join(nummern)}).json()
    assert len(liste) == 50
    koeln_felder = set().union(*(set(r) for r in koeln)) - {"status_notes"}
    for rec in liste:
        original = nummern[rec["service_request_id"]]
        assert koeln_felder <= set(rec)
        assert rec["description"] == (original.get("description") or "").strip()
        assert rec["address"] == original["address"] and rec["status"] in ("open", "closed")
        assert ISO.match(rec["requested_datetime"]) and ISO.match(rec["updated_datetime"])
        assert rec["media_url"] == original.get("media_url")
        assert isinstance(rec["service_request_id"], str) and isinstance(rec["service_code"], str)
    beispiel = next(n for n, r in nummern.items() if "\r\n" in (r.get("description") or ""))
    xml = ET.fromstring(c.get(f"{V2}/requests/{beispiel}.xml").content)
    assert xml.find("request/description").text == nummern[beispiel]["description"].strip()


def test_request_felder_wie_spec_beispiel(open311, client):
    c, _ = client
    spec = ET.parse(open311 / "us-node-open311/service-requests.xml").getroot()
    nummer = c.get(f"{V2}/requests.json").json()[0]["service_request_id"]
    unser = ET.fromstring(c.get(f"{V2}/requests/{nummer}.xml").content)
    assert unser.tag == spec.tag == "service_requests"
    spec_felder = kinder(spec[0])
    unsere = [f for f in kinder(unser[0]) if f in spec_felder]
    assert unsere == spec_felder  # every spec field, in the spec's order

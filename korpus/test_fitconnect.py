"""The FIT-Connect adapter's metadata against the official schema metadata.schema.v1.0.0.json in ../shared."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from servicecenter.uebergabe import fitconnect
from servicecenter.uebergabe.adapter import Anhang, Auftrag, EndgueltigerFehler


@pytest.fixture(scope="module")
def schema(korpus) -> str:
    pfad = korpus / "public-sector" / "fitconnect" / "metadata.schema.v1.0.0.json"
    assert pfad.is_file(), pfad
    return str(pfad)


def auftrag(**extra) -> Auftrag:
    werte = dict(
        uebergabe_id=1, idempotenz_schluessel="6c1f3c1e-2d0b-4a53-9d43-2b8f5a0e9f11", ticket_nummer="115-2026-000001",
        anliegen="Sperrmüll abholen", erstellt_am=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), prioritaet="normal",
        leistung={"id": 1, "name": "Sperrmüllabholung", "leika": "99108001000000"},
        organisationseinheit=None,
        kontakt={"name": "Erika Muster", "telefon": None, "email": "erika@example.org", "einwilligung_am": None},
        anhaenge=[Anhang(id=3, dateiname="plan.pdf", mimetyp="application/pdf", inhalt=b"%PDF-1.7",
                         sha256=hashlib.sha256(b"%PDF-1.7").hexdigest())],
    )
    werte.update(extra)
    return Auftrag(**werte)


def adapter(schema: str) -> fitconnect.FitConnectAdapter:
    return fitconnect.FitConnectAdapter("fc", token_url="https://a.example/t", submission_api="https://z.example",
                                        client_id="c", client_secret="s", destination_id="d", metadata_schema=schema)


@pytest.mark.parametrize("a", [auftrag(), auftrag(kontakt=None, anhaenge=[])])
def test_metadaten_gegen_offizielles_schema(schema, a):
    fc = adapter(schema)
    daten = json.dumps(a.payload()).encode()
    anlagen = [("0b9a4c3e-6f1d-4c2a-8e7b-1d2c3b4a5f60", x) for x in a.anhaenge]
    m = fc.metadaten(a, daten, anlagen)
    fitconnect.metadaten_pruefen(m, schema)  # raises on any violation
    assert m["publicServiceType"]["identifier"] == "urn:de:fim:leika:leistung:99108001000000"


def test_offizielles_schema_lehnt_falsches_ab(schema):
    fc = adapter(schema)
    a = auftrag()
    m = fc.metadaten(a, b"{}", [("0b9a4c3e-6f1d-4c2a-8e7b-1d2c3b4a5f60", a.anhaenge[0])])
    m["contentStructure"]["attachments"][0]["purpose"] = "beilage"
    with pytest.raises(EndgueltigerFehler, match="Metadaten ungültig"):
        fitconnect.metadaten_pruefen(m, schema)
    m = fc.metadaten(a, b"{}", [])
    m["publicServiceType"]["identifier"] = "LeiKa 99108001000000"
    with pytest.raises(EndgueltigerFehler, match="publicServiceType"):
        fitconnect.metadaten_pruefen(m, schema)

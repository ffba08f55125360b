"""Open311 round trip with an independent client: the real server process (demo catalogue on a temporary SQLite)
receives reports in the exact form-encoded shape FixMyStreet sends; the PyPI client `georeport` 0.3.1, run in its
own venv (`make georeport-venv`, it pins xmltodict), reads services, definitions, request lists and single
requests in JSON and XML."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serverhilfe import freier_port

ROOT = Path(__file__).resolve().parents[2]
GEOREPORT_PYTHON = ROOT / "var" / "venv-georeport" / "bin" / "python"
JURISDIKTION = "halle.de"

# Runs inside the georeport venv: every read the client offers, in both formats; prints one JSON document.
CLIENT = r"""
import json, sys
import georeport
from georeport import GeoReport

basis, jurisdiktion, code, nummer = sys.argv[1:5]
ergebnis = {"version": georeport.__version__}
for fmt in ("json", "xml"):
    gr = GeoReport(basis, jurisdiction=jurisdiktion, output_format=fmt)
    ergebnis[fmt] = {
        "services": gr.get_service_list(),
        "definition": gr.get_service_definition(code),
        "requests": gr.get_service_requests(),
        "gefiltert": gr.get_service_requests(service_code=code, status="open"),
        "nach_id": gr.get_service_requests(service_request_id=nummer),
        "einzeln": gr.get_service_request(nummer),
    }
print(json.dumps(ergebnis, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if not GEOREPORT_PYTHON.is_file():
        pytest.fail(f"{GEOREPORT_PYTHON} fehlt: bitte `make georeport-venv` ausführen (Teil von `make test`).")
    tmp = tmp_path_factory.mktemp("open311")
    port = freier_port()
    basis = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SERVICECENTER_DATABASE_URL": f"sqlite:///{tmp / 'open311.db'}",
        "SERVICECENTER_LOG_LEVEL": "WARNING",
        "SERVICECENTER_OEFFENTLICHE_URL": basis,
        "SERVICECENTER_OPEN311_JURISDICTION_ID": JURISDIKTION,
    }
    env.pop("SERVICECENTER_TEST_DATABASE_URL", None)
    cli = [sys.executable, "-m", "servicecenter.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    subprocess.run([*cli, "wissen", "import", "--demo", "--no-fortschritt"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    schluessel = subprocess.run([*cli, "open311", "schluessel", "FixMyStreet Test"], env=env, check=True, cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    prozess = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{basis}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if prozess.poll() is not None:
                pytest.fail(f"Server beendet: {prozess.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        else:
            pytest.fail("Server antwortet nicht.")
        yield basis, schluessel
    finally:
        prozess.terminate()
        try:
            prozess.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prozess.kill()


def fms_post(basis: str, schluessel: str, fmt: str, felder: list[tuple[str, str]]) -> httpx.Response:
    """Byte for byte what FixMyStreet's Open311.pm posts: urlencoded body, attribute[code], repeated keys."""
    inhalt = httpx.QueryParams([("api_key", schluessel), ("jurisdiction_id", JURISDIKTION), *felder])
    return httpx.post(f"{basis}/open311/v2/requests.{fmt}", content=str(inhalt).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, timeout=10)


def als_liste(wert):
    """xmltodict gives a dict for one repeated element and a list for several (georeport passes that on)."""
    return wert if isinstance(wert, list) else [wert]


def test_georeport_liest_json_und_xml(server):
    basis, schluessel = server
    code = "illegale-muellablagerung-melden"
    r = fms_post(basis, schluessel, "json", [
        ("service_code", code), ("lat", "51.482300"), ("long", "11.969700"),
        ("address_string", "Hallorenring 1, 06108 Halle (Saale)"), ("email", "erika@example.org"),
        ("first_name", "Erika"), ("last_name", "Mustermann"),
        ("description", "Drei Müllsäcke & ein Sofa neben dem Container.\r\nKeine Gefahrstoffe."),
        ("media_url", "https://fms.example/photo/1.jpeg"), ("media_url", "https://fms.example/photo/2.jpeg"),
        ("attribute[gefaehrliche_stoffe]", "nein"), ("attribute[abfallart]", "sperrmuell"),
        ("attribute[abfallart]", "saecke"), ("attribute[fixmystreet_id]", "4711"),
    ])
    assert r.status_code == 200, r.text
    nummer = r.json()[0]["service_request_id"]
    r_xml = fms_post(basis, schluessel, "xml", [
        ("service_code", "strassenschaden-melden"), ("address_string", "Marktplatz 1, 06108 Halle (Saale)"),
        ("description", "Schlagloch"), ("attribute[betroffen]", "fahrbahn"),
    ])
    assert r_xml.status_code == 200 and b"<service_request_id>" in r_xml.content
    verboten = fms_post(basis, "falsch", "xml", [("service_code", code), ("address_string", "x")])
    assert verboten.status_code == 403 and b"<errors><error><code>403</code>" in verboten.content

    lauf = subprocess.run([str(GEOREPORT_PYTHON), "-c", CLIENT, f"{basis}/open311/v2", JURISDIKTION, code, nummer],
                          capture_output=True, text=True, timeout=120)
    assert lauf.returncode == 0, lauf.stderr
    d = json.loads(lauf.stdout)
    assert d["version"] == "0.3.1"
    j, x = d["json"], d["xml"]

    # services
    codes = [s["service_code"] for s in j["services"]]
    assert code in codes and "strassenschaden-melden" in codes
    assert [s["service_code"] for s in als_liste(x["services"])] == codes
    sj = next(s for s in j["services"] if s["service_code"] == code)
    sx = next(s for s in als_liste(x["services"]) if s["service_code"] == code)
    assert sj["metadata"] is True and sx["metadata"] == "true" and sj["type"] == sx["type"] == "realtime"
    assert sj["service_name"] == sx["service_name"] == "Illegale Müllablagerung melden"
    assert set(sj) == set(sx) == {"service_code", "service_name", "description", "metadata", "type", "keywords",
                                  "group"}

    # definition
    assert j["definition"]["service_code"] == x["definition"]["service_code"] == code
    attr_j = j["definition"]["attributes"]
    attr_x = als_liste(x["definition"]["attributes"]["attribute"])
    assert [a["code"] for a in attr_j] == [a["code"] for a in attr_x] == ["gefaehrliche_stoffe", "abfallart"]
    assert attr_j[0]["required"] is True and attr_x[0]["required"] == "true"
    assert [v["key"] for v in attr_j[0]["values"]] == [v["key"] for v in als_liste(attr_x[0]["values"]["value"])]

    # request lists and single requests
    alle_j, alle_x = j["requests"], als_liste(x["requests"])
    assert [r["service_request_id"] for r in alle_j] == [r["service_request_id"] for r in alle_x]
    assert nummer in [r["service_request_id"] for r in alle_j] and len(alle_j) == 2
    assert [r["service_request_id"] for r in j["gefiltert"]] == [nummer]
    assert [r["service_request_id"] for r in j["nach_id"]] == [nummer]
    assert als_liste(x["nach_id"])[0]["service_request_id"] == nummer
    ej, ex = j["einzeln"], x["einzeln"]
    assert ej["service_request_id"] == ex["service_request_id"] == nummer
    assert ej["status"] == ex["status"] == "open"
    assert ej["description"] == ex["description"] == "Drei Müllsäcke & ein Sofa neben dem Container.\r\nKeine Gefahrstoffe."
    assert ej["service_code"] == ex["service_code"] == code
    assert ej["lat"] == pytest.approx(51.4823) and float(ex["lat"]) == pytest.approx(51.4823)
    assert ej["requested_datetime"] == ex["requested_datetime"]
    assert ej["media_url"] == ex["media_url"] == "https://fms.example/photo/1.jpeg"
    assert ej["agency_responsible"] == ex["agency_responsible"] and ej["agency_responsible"]
    assert ej["zipcode"] == ex["zipcode"] == "06108"
    # no personal data anywhere in what the client read
    for geheim in ("erika", "Erika", "Mustermann", schluessel):
        assert geheim not in lauf.stdout

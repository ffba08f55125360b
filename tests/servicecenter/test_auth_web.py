"""Login, logout, sessions, CSRF, Bearer tokens and roles over HTTP (TestClient on https://testserver)."""

import re
from typing import Annotated
from urllib.parse import quote

import pytest
from fastapi import APIRouter, Depends, Form
from sqlalchemy import func, select

from servicecenter.auth import service
from servicecenter.auth.deps import Rolle, benutzer_mit_rolle, csrf_geschuetzt
from servicecenter.auth.models import ApiToken, Benutzer, Sitzung

MELDUNG = service.ANMELDUNG_FEHLGESCHLAGEN
TEST_PASSWORT = "Richtiges-Passwort-42"  # as in conftest.py


# --- a test-only router: one route per role, recording whether the handler ran ----------------------------------

@pytest.fixture
def aufrufe(app) -> list[tuple[str, int]]:
    liste: list[tuple[str, int]] = []
    router = APIRouter()
    def route(rolle: Rolle):
        def endpunkt(benutzer: Benutzer = Depends(benutzer_mit_rolle(rolle))) -> dict:
            liste.append((rolle.value, benutzer.id))
            return {"ok": True, "benutzer": benutzer.name}

        return endpunkt

    for rolle in Rolle:
        router.add_api_route(f"/api/test/{rolle.value}", route(rolle), methods=["GET", "POST"])

    @router.post("/test/formular", dependencies=[Depends(csrf_geschuetzt)])
    def formular(benutzer: Annotated[Benutzer, Depends(benutzer_mit_rolle())], wert: Annotated[str, Form()] = ""):
        liste.append(("formular:" + wert, benutzer.id))
        return {"ok": True}

    app.include_router(router)
    return liste


def _csrf_aus(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "kein CSRF-Feld im Formular"
    return m.group(1)


def _form_login(client, name, passwort, weiter=""):
    seite = client.get("/anmelden")
    assert seite.status_code == 200
    return client.post(
        "/anmelden",
        data={"name": name, "passwort": passwort, "csrf_token": _csrf_aus(seite.text), "weiter": weiter},
        follow_redirects=False,
    )


def _anzahl(db_session, modell) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(modell))


# --- login / logout ---------------------------------------------------------------------------------------------

def test_anmelden_und_abmelden(web_client, neuer_benutzer, db_session, uhr):
    b = neuer_benutzer("agent", "petra", anzeigename="Petra Muster")
    seite = web_client.get("/anmelden")
    assert '<label for="name">Benutzername</label>' in seite.text
    assert 'autocomplete="current-password"' in seite.text
    assert seite.headers["cache-control"] == "no-store"

    antwort = _form_login(web_client, "petra", TEST_PASSWORT)
    assert antwort.status_code == 303
    assert antwort.headers["location"] == "/desk"
    cookie = next(c for c in antwort.headers.get_list("set-cookie") if c.startswith("sc_sitzung="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()
    assert _anzahl(db_session, Sitzung) == 1

    desk = web_client.get("/desk")
    assert desk.status_code == 200
    assert "Angemeldet als <strong>Petra Muster</strong>" in desk.text
    assert desk.headers["cache-control"] == "no-store"
    db_session.expire_all()
    assert db_session.get(Benutzer, b.id).letzte_anmeldung == uhr()

    raus = web_client.post("/abmelden", data={"csrf_token": _csrf_aus(desk.text)}, follow_redirects=False)
    assert raus.status_code == 303 and raus.headers["location"] == "/anmelden?abgemeldet=1"
    assert _anzahl(db_session, Sitzung) == 0
    assert web_client.get("/desk").status_code == 401
    assert "Sie haben sich abgemeldet." in web_client.get("/anmelden?abgemeldet=1").text


def test_cookie_ohne_secure_nur_wenn_eingestellt(app, web_client, neuer_benutzer):
    neuer_benutzer("agent", "otto")
    app.state.settings = app.state.settings.model_copy(update={"cookie_secure": False})
    antwort = _form_login(web_client, "otto", TEST_PASSWORT)
    cookie = next(c for c in antwort.headers.get_list("set-cookie") if c.startswith("sc_sitzung="))
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_gleiche_meldung_fuer_unbekannt_und_falsches_passwort(web_client, neuer_benutzer, db_session):
    neuer_benutzer("agent", "petra")
    unbekannt = _form_login(web_client, "gibtesnicht", TEST_PASSWORT)
    falsch = _form_login(web_client, "petra", "falsches-Passwort-9")
    assert unbekannt.status_code == falsch.status_code == 400
    for antwort in (unbekannt, falsch):
        assert f'role="alert" id="anmelde-fehler">{MELDUNG}</p>' in antwort.text.replace("&#34;", '"')
        assert "sc_sitzung" not in antwort.headers.get("set-cookie", "")
    assert _anzahl(db_session, Sitzung) == 0


def test_sperre_ueber_das_formular_und_freigabe_nach_15_minuten(web_client, neuer_benutzer, uhr):
    neuer_benutzer("agent", "petra")
    for _ in range(5):
        assert _form_login(web_client, "petra", "falsches-Passwort-9").status_code == 400
    gesperrt = _form_login(web_client, "petra", TEST_PASSWORT)
    assert gesperrt.status_code == 400 and MELDUNG in gesperrt.text
    uhr.vor(minutes=14, seconds=59)
    assert _form_login(web_client, "petra", TEST_PASSWORT).status_code == 400
    uhr.vor(seconds=1)
    assert _form_login(web_client, "petra", TEST_PASSWORT).status_code == 303


def test_sitzungs_id_wechselt_bei_der_anmeldung(web_client, anmelden, db_session):
    formular = web_client.get("/anmelden")
    # A session id the browser already holds (planted or from before) must not survive the login.
    alt = anmelden("agent")
    assert web_client.get("/desk").status_code == 200
    antwort = web_client.post(
        "/anmelden",
        data={"name": alt.benutzer.name, "passwort": TEST_PASSWORT, "csrf_token": _csrf_aus(formular.text)},
        follow_redirects=False,
    )
    assert antwort.status_code == 303
    neu = web_client.cookies.get("sc_sitzung")
    assert neu and neu != alt.sitzung_id
    db_session.expire_all()
    hashes = set(db_session.scalars(select(Sitzung.id_hash)))
    assert hashes == {service.sha256(neu)}  # the old session row is gone


def test_anmelden_ohne_formular_token_wird_abgelehnt(web_client, neuer_benutzer, db_session):
    neuer_benutzer("agent", "petra")
    web_client.get("/anmelden")
    antwort = web_client.post(
        "/anmelden", data={"name": "petra", "passwort": TEST_PASSWORT, "csrf_token": "falsch"}, follow_redirects=False
    )
    assert antwort.status_code == 403
    assert "abgelaufen" in antwort.text
    assert _anzahl(db_session, Sitzung) == 0


@pytest.mark.parametrize(
    ("weiter", "ziel"),
    [("/admin/benutzer", "/admin/benutzer"), ("//boese.example/x", "/desk"), ("https://boese.example", "/desk"),
     ("/\\boese.example", "/desk")],
)
def test_weiter_fuehrt_nur_auf_eigene_seiten(web_client, neuer_benutzer, weiter, ziel):
    neuer_benutzer("admin", "chefin")
    antwort = _form_login(web_client, "chefin", TEST_PASSWORT, weiter=weiter)
    assert antwort.headers["location"] == ziel


def test_ohne_anmeldung_html_umleitung_api_401(web_client):
    html = web_client.get("/desk?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert html.status_code == 303
    assert html.headers["location"] == "/anmelden?weiter=" + quote("/desk?x=1", safe="")
    api = web_client.get("/desk")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert api.json() == {"detail": "Bitte melden Sie sich an."}
    htmx = web_client.get("/desk", headers={"HX-Request": "true", "Accept": "text/html"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/anmelden?weiter=")


def test_leerlauf_beendet_die_sitzung(web_client, anmelden, uhr, db_session):
    anmelden("agent")
    uhr.vor(minutes=59)
    assert web_client.get("/desk").status_code == 200
    uhr.vor(minutes=59)  # active 59 min ago: still fine
    assert web_client.get("/desk").status_code == 200
    uhr.vor(minutes=60)
    assert web_client.get("/desk").status_code == 401
    assert _anzahl(db_session, Sitzung) == 0


def test_deaktivierter_benutzer_verliert_die_sitzung(web_client, anmelden, db_session):
    a = anmelden("agent")
    db_session.get(Benutzer, a.benutzer.id).aktiv = False
    db_session.commit()
    assert web_client.get("/desk").status_code == 401


# --- CSRF ---------------------------------------------------------------------------------------------------------

def test_csrf_fehlt_oder_falsch_ergibt_403_und_nichts_aendert_sich(web_client, anmelden, db_session):
    admin = anmelden("admin")
    neu = {"name": "neuer.agent", "rolle": "agent", "passwort": "Langes-Passwort-77"}
    vorher = _anzahl(db_session, Benutzer)
    ohne = web_client.post("/admin/benutzer", data=neu, follow_redirects=False)
    falsch = web_client.post("/admin/benutzer", data={**neu, "csrf_token": admin.csrf[:-1] + "x"}, follow_redirects=False)
    fremd = web_client.post("/admin/benutzer", data=neu, headers={"X-CSRF-Token": "a" * 43}, follow_redirects=False)
    for antwort in (ohne, falsch, fremd):
        assert antwort.status_code == 403
        assert "CSRF" in antwort.json()["detail"]
    assert _anzahl(db_session, Benutzer) == vorher
    ok = web_client.post("/admin/benutzer", data=neu, headers=admin.headers, follow_redirects=False)
    assert ok.status_code == 303
    assert _anzahl(db_session, Benutzer) == vorher + 1


def test_csrf_html_seite_und_eigenes_formular(web_client, anmelden, aufrufe):
    a = anmelden("agent")
    seite = web_client.post("/test/formular", data={"wert": "x"}, headers={"Accept": "text/html"})
    assert seite.status_code == 403 and "<h1>Keine Berechtigung</h1>" in seite.text
    assert aufrufe == []
    assert a.post("/test/formular", data={"wert": "y"}).status_code == 200
    assert aufrufe == [("formular:y", a.benutzer.id)]


def test_csrf_token_einer_anderen_sitzung_gilt_nicht(web_client, anmelden, aufrufe):
    fremd = anmelden("agent", eigener_client=True)
    anmelden("agent")
    antwort = web_client.post("/api/test/agent", headers={"X-CSRF-Token": fremd.csrf})
    assert antwort.status_code == 403 and aufrufe == []


def test_bearer_braucht_kein_csrf(web_client, api_token, aufrufe):
    z = api_token("agent")
    antwort = web_client.post("/api/test/agent", headers=z.headers)
    assert antwort.status_code == 200 and antwort.json()["benutzer"] == z.benutzer.name
    assert antwort.headers["cache-control"] == "no-store"
    assert aufrufe == [("agent", z.benutzer.id)]


# --- Bearer tokens ------------------------------------------------------------------------------------------------

def test_bearer_token_gueltig_widerrufen_unbekannt(web_client, api_token, db_session, uhr, aufrufe):
    z = api_token("agent")
    assert web_client.get("/api/test/agent", headers=z.headers).status_code == 200
    db_session.expire_all()
    t = db_session.scalar(select(ApiToken).where(ApiToken.benutzer_id == z.benutzer.id))
    assert t.zuletzt_benutzt_am == uhr()

    service.token_widerrufen(db_session, token=t, jetzt=uhr())
    db_session.commit()
    for kopf in (z.headers, {"Authorization": "Bearer sc115_gibtesnicht"}, {"Authorization": "Basic YTpi"},
                 {"Authorization": "Bearer"}):
        antwort = web_client.post("/api/test/agent", headers=kopf)
        assert antwort.status_code == 401
        assert antwort.headers["www-authenticate"].startswith("Bearer")
        assert antwort.json()["detail"]
    assert aufrufe == [("agent", z.benutzer.id)]


def test_bearer_geht_vor_cookie(web_client, anmelden, api_token, aufrufe):
    anmelden("admin")
    z = api_token("redaktion")
    antwort = web_client.get("/api/test/admin", headers=z.headers)
    assert antwort.status_code == 403  # the token's role counts, not the admin cookie
    assert web_client.get("/api/test/admin", headers={"Authorization": "Bearer falsch"}).status_code == 401
    assert aufrufe == []


# --- roles --------------------------------------------------------------------------------------------------------

ERLAUBT = {
    Rolle.agent: {Rolle.agent, Rolle.teamleitung, Rolle.admin},
    Rolle.teamleitung: {Rolle.teamleitung, Rolle.admin},
    Rolle.redaktion: {Rolle.redaktion, Rolle.admin},
    Rolle.admin: {Rolle.admin},
}


@pytest.mark.parametrize("route", list(Rolle))
@pytest.mark.parametrize("rolle", list(Rolle))
def test_rollen_mit_token_und_cookie(web_client, anmelden, api_token, aufrufe, route, rolle):
    z = api_token(rolle)
    per_token = web_client.post(f"/api/test/{route.value}", headers=z.headers)
    angemeldet = anmelden(rolle)
    per_cookie = web_client.post(f"/api/test/{route.value}", headers=angemeldet.headers)
    if rolle in ERLAUBT[route]:
        assert per_token.status_code == per_cookie.status_code == 200
        assert aufrufe == [(route.value, z.benutzer.id), (route.value, angemeldet.benutzer.id)]
    else:
        for antwort in (per_token, per_cookie):
            assert antwort.status_code == 403
            assert antwort.json()["detail"].startswith("Dafür fehlt Ihnen die Berechtigung.")
        assert aufrufe == []  # the handler never ran


@pytest.mark.parametrize(("rolle", "desk", "admin"), [
    ("agent", 200, 403), ("teamleitung", 200, 403), ("redaktion", 403, 403), ("admin", 200, 200),
])
def test_echte_seiten_je_rolle(web_client, anmelden, rolle, desk, admin):
    anmelden(rolle)
    assert web_client.get("/desk").status_code == desk
    seite = web_client.get("/admin/benutzer", headers={"Accept": "text/html"})
    assert seite.status_code == admin
    if admin == 403:
        assert "Erlaubt ist das für die Rolle Admin" in seite.text
        assert seite.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("rolle", ["agent", "teamleitung", "redaktion"])
def test_niedrigere_rolle_kann_keine_benutzer_anlegen_oder_tokens_widerrufen(
    web_client, anmelden, api_token, db_session, aufrufe, rolle
):
    z = api_token("agent")
    db_session.expire_all()
    token_id = db_session.scalar(select(ApiToken.id).where(ApiToken.benutzer_id == z.benutzer.id))
    a = anmelden(rolle)
    vorher = _anzahl(db_session, Benutzer)
    neu = {"name": "eindringling", "rolle": "admin", "passwort": "Langes-Passwort-77"}
    assert a.post("/admin/benutzer", data=neu).status_code == 403
    assert a.post(f"/admin/tokens/{token_id}/widerrufen").status_code == 403
    assert _anzahl(db_session, Benutzer) == vorher
    assert db_session.get(ApiToken, token_id).widerrufen_am is None
    assert web_client.get("/api/test/agent", headers=z.headers).status_code == 200


def test_admin_legt_an_und_widerruft(web_client, anmelden, api_token, db_session, uhr, aufrufe):
    admin = anmelden("admin")
    seite = web_client.get("/admin/benutzer")
    assert seite.status_code == 200 and "Benutzer anlegen" in seite.text
    kurz = admin.post("/admin/benutzer", data={"name": "neu.agent", "rolle": "agent", "passwort": "zu-kurz"})
    assert kurz.status_code == 422 and "mindestens 12 Zeichen" in kurz.text and 'value="neu.agent"' in kurz.text
    ok = admin.post("/admin/benutzer", data={"name": "neu.agent", "anzeigename": "<b>Neu</b>", "rolle": "teamleitung",
                                             "passwort": "Langes-Passwort-77"})
    assert ok.status_code == 200 and "Der Benutzer wurde angelegt." in ok.text
    assert "&lt;b&gt;Neu&lt;/b&gt;" in ok.text and "<b>Neu</b>" not in ok.text
    assert service.benutzer_nach_name(db_session, "neu.agent").rolle == Rolle.teamleitung

    z = api_token("agent")
    db_session.expire_all()
    t = db_session.scalar(select(ApiToken).where(ApiToken.benutzer_id == z.benutzer.id))
    assert t.praefix in web_client.get("/admin/benutzer").text
    assert z.token not in web_client.get("/admin/benutzer").text
    assert admin.post(f"/admin/tokens/{t.id}/widerrufen").status_code == 200
    assert web_client.get("/api/test/agent", headers=z.headers).status_code == 401


def test_kein_no_store_fuer_oeffentliche_seiten(web_client):
    assert "cache-control" not in web_client.get("/healthz").headers

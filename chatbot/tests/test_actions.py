"""Unit tests of the custom actions against a respx-mocked servicecenter API."""

from __future__ import annotations

import json

import httpx
import pytest
from actions import actions as a
from actions.texte import QUELLE, STOERUNG, WEISS_NICHT, WELCHE_LEISTUNG
from conftest import antworten_mit, ausfuehren, custom, leistung, slots, texte, tracker, treffer

LINK3 = "https://service.halle.test/leistungen/3"


def payloads(nachrichten):
    return [b["payload"] for m in nachrichten for b in m.get("buttons") or []]


# --- frage_leistung ------------------------------------------------------------------------------------------


def test_sicher_antwortet_mit_kurztext_fakten_quelle_buttons_und_leistung(sc):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer((3, "Reisepass beantragen", "sicher"),
                                                                (4, "Kinderreisepass beantragen", "unsicher")))
    sc.get("/api/v1/leistungen/3").respond(json=leistung())
    frage = "ich brauch nen reisepass für den urlaub in thailand"

    nachrichten, events = ausfuehren(a.ActionLeistungBeantworten(), tracker(frage))

    anfrage = suche.calls.last.request
    assert anfrage.url.params["q"] == frage  # the whole message, not extracted keywords
    assert anfrage.url.params["limit"] == "3"
    assert anfrage.url.params["snippets"] == "false"  # the bot shows no hit list
    assert anfrage.headers["Authorization"] == "Bearer bot-geheim"
    text = texte(nachrichten)
    assert "Den Reisepass beantragen Sie persönlich" in text
    assert "Kosten: 70,00 Euro ab 24 Jahren." in text
    assert "Bearbeitungsdauer: etwa 3 bis 4 Wochen" in text
    assert f"{QUELLE}: {LINK3}" in text
    assert "/frage_unterlagen" in payloads(nachrichten) and "/frage_online" in payloads(nachrichten)
    assert custom(nachrichten) == [{"leistung": {"id": 3, "name": "Reisepass beantragen"}}]
    assert slots(events) == {"leistung_id": "3", "leistung_name": "Reisepass beantragen"}


def test_unsicher_fragt_meinten_sie_mit_den_ersten_drei(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer(
        (1, "Personalausweis beantragen", "unsicher"), (2, "Verlust des Personalausweises melden", "unsicher"),
        (30, "Bewohnerparkausweis beantragen", "unsicher")))
    detail = sc.get(url__regex=r"/api/v1/leistungen/\d+").respond(json=leistung())

    nachrichten, events = ausfuehren(a.ActionLeistungBeantworten(), tracker("frage wegen ausweis"))

    assert "Meinten Sie „Personalausweis beantragen“" in texte(nachrichten)
    assert "Wissensdatenbank der Stadt Halle (Saale)" in texte(nachrichten)
    assert payloads(nachrichten) == [
        '/leistung_waehlen{"leistung_id":"1"}', '/leistung_waehlen{"leistung_id":"2"}',
        '/leistung_waehlen{"leistung_id":"30"}',
    ]
    assert custom(nachrichten) == [{"leistung": {"id": 1, "name": "Personalausweis beantragen"},
                                    "konfidenz": "unsicher"}]
    assert not detail.called
    assert slots(events) == {}  # nothing chosen yet


@pytest.mark.parametrize("antwort", [treffer(), treffer((23, "Kirchenaustritt erklären", "kein Treffer"))])
def test_kein_treffer_sagt_ehrlich_weiss_nicht_und_bietet_menschen_an(sc, antwort):
    sc.get("/api/v1/leistungen").respond(json=antwort)

    nachrichten, events = ausfuehren(a.ActionLeistungBeantworten(), tracker("genehmigung für meine mondrakete"))

    assert texte(nachrichten) == WEISS_NICHT
    assert "115" in WEISS_NICHT
    assert payloads(nachrichten) == ["/mit_mensch_sprechen"]
    assert custom(nachrichten) == [] and events == []


def test_auswahl_per_button_laedt_die_leistung_ohne_suche(sc):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer())
    sc.get("/api/v1/leistungen/1").respond(json=leistung(1, "Personalausweis beantragen"))
    t = tracker('/leistung_waehlen{"leistung_id":"1"}', "leistung_waehlen",
                entities=[{"entity": "leistung_id", "value": "1"}])

    nachrichten, events = ausfuehren(a.ActionLeistungBeantworten(), t)

    assert not suche.called
    assert custom(nachrichten) == [{"leistung": {"id": 1, "name": "Personalausweis beantragen"}}]
    assert slots(events)["leistung_id"] == "1"


def test_auswahl_mit_facette_beantwortet_die_nachfrage(sc):
    sc.get("/api/v1/leistungen/3").respond(json=leistung())
    t = tracker("/leistung_waehlen", "leistung_waehlen",
                entities=[{"entity": "leistung_id", "value": "3"}, {"entity": "facette", "value": "kosten"}])

    nachrichten, _ = ausfuehren(a.ActionLeistungBeantworten(), t)

    assert texte(nachrichten).startswith("Kosten für „Reisepass beantragen“: 70,00 Euro")
    assert "/frage_kosten" not in payloads(nachrichten)


def test_maengelmeldung_bietet_melden_an(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((60, "Defekte Straßenbeleuchtung melden", "sicher"),
                                                      art="maengelmeldung"))
    sc.get("/api/v1/leistungen/60").respond(json=leistung(60, "Defekte Straßenbeleuchtung melden",
                                                          art="maengelmeldung"))

    nachrichten, _ = ausfuehren(a.ActionLeistungBeantworten(), tracker("laterne kaputt"))

    assert payloads(nachrichten)[0] == "/maengel_melden"


def test_geloeschte_leistung_nach_der_suche_ist_kein_absturz(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((3, "Reisepass beantragen", "sicher")))
    sc.get("/api/v1/leistungen/3").respond(404, json={"detail": "gibt es nicht"})

    nachrichten, events = ausfuehren(a.ActionLeistungBeantworten(), tracker("reisepass"))

    assert texte(nachrichten) == WEISS_NICHT
    assert slots(events) == {"leistung_id": None, "leistung_name": None}


@pytest.mark.parametrize("fehler", [
    httpx.ConnectError("connection refused"), httpx.ReadTimeout("langsam"), httpx.ConnectTimeout("langsam"),
])
def test_servicecenter_nicht_erreichbar_entschuldigt_sich_und_nennt_115(sc, fehler):
    sc.get("/api/v1/leistungen").mock(side_effect=fehler)

    nachrichten, events = ausfuehren(a.ActionLeistungBeantworten(), tracker("reisepass"))

    assert texte(nachrichten) == STOERUNG
    assert "115" in STOERUNG and "Entschuldigung" in STOERUNG
    assert events == []


@pytest.mark.parametrize("status", [500, 502, 503, 401])
def test_servicecenter_fehler_entschuldigt_sich(sc, status):
    sc.get("/api/v1/leistungen").respond(status)

    nachrichten, _ = ausfuehren(a.ActionLeistungBeantworten(), tracker("reisepass"))

    assert texte(nachrichten) == STOERUNG


def test_kaputtes_json_entschuldigt_sich(sc):
    sc.get("/api/v1/leistungen").respond(200, text="<html>proxy</html>")

    nachrichten, _ = ausfuehren(a.ActionLeistungBeantworten(), tracker("reisepass"))

    assert texte(nachrichten) == STOERUNG


def test_jeder_aufruf_hat_das_timeout_aus_der_umgebung(sc):
    gesehen = {}

    def merken(request):
        gesehen.update(request.extensions["timeout"])
        return httpx.Response(200, json=treffer())

    sc.get("/api/v1/leistungen").mock(side_effect=merken)
    ausfuehren(a.ActionLeistungBeantworten(), tracker("reisepass"))

    assert gesehen == {"connect": 0.5, "read": 0.5, "write": 0.5, "pool": 0.5}


# --- nlu_fallback ----------------------------------------------------------------------------------------------


def test_fallback_sucht_trotzdem_und_sagt_sonst_nicht_verstanden(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer())

    nachrichten, _ = ausfuehren(a.ActionFallbackSuche(), tracker("fjdksla ölkjh", "nlu_fallback"))

    assert nachrichten[0]["response"] == "utter_nicht_verstanden"


def test_fallback_mit_sicherem_treffer_antwortet(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((3, "Reisepass beantragen", "sicher")))
    sc.get("/api/v1/leistungen/3").respond(json=leistung())

    nachrichten, _ = ausfuehren(a.ActionFallbackSuche(), tracker("pass thailand urlaub", "nlu_fallback"))

    assert custom(nachrichten) == [{"leistung": {"id": 3, "name": "Reisepass beantragen"}}]


# --- follow-ups ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("intent", "erwartet"), [
    ("frage_kosten", "Kosten für „Reisepass beantragen“: 70,00 Euro ab 24 Jahren."),
    ("frage_unterlagen", "Für „Reisepass beantragen“ brauchen Sie:\n- Personalausweis\n- ein biometrisches Passfoto"),
    ("frage_oeffnungszeiten", "Öffnungszeiten Bürgerservice Stadt Halle (Saale):\nMontag: 08:00–12:00 Uhr\n"
                              "Dienstag: 13:00–18:00 Uhr\nGeschlossen. Öffnet wieder am Montag um 08:00 Uhr."),
    ("frage_zustaendige_stelle", "Zuständig für „Reisepass beantragen“:\nBürgerservice Stadt Halle (Saale)\n"
                                 "Marktplatz 1, 06108 Halle (Saale)\nTelefon: 0345 221-0"),
    ("frage_online", "Für „Reisepass beantragen“ ist kein Onlinedienst hinterlegt"),
])
def test_nachfrage_zur_leistung_im_gespraech(sc, intent, erwartet):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer())
    sc.get("/api/v1/leistungen/3").respond(json=leistung())

    nachrichten, events = ausfuehren(a.ActionLeistungDetail(), tracker("und was ist damit?", intent,
                                                                        slots={"leistung_id": "3"}))

    text = texte(nachrichten)
    assert erwartet in text
    assert text.endswith(f"{QUELLE}: {LINK3}")
    assert not suche.called  # nothing but follow-up words: no search
    assert custom(nachrichten) == [{"leistung": {"id": 3, "name": "Reisepass beantragen"}}]
    assert slots(events)["leistung_id"] == "3"


def test_online_nachfrage_nennt_onlinedienst(sc):
    sc.get("/api/v1/leistungen/3").respond(json=leistung(onlinedienste=[
        {"name": "Online-Antrag", "url": "https://antrag.halle.test"}]))

    nachrichten, _ = ausfuehren(a.ActionLeistungDetail(), tracker("geht das online", "frage_online",
                                                                   slots={"leistung_id": "3"}))

    assert "- Online-Antrag: https://antrag.halle.test" in texte(nachrichten)


def test_nachfrage_die_eine_leistung_nennt_wechselt_dorthin(sc):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer((11, "Führungszeugnis beantragen", "sicher")))
    sc.get("/api/v1/leistungen/11").respond(json=leistung(11, "Führungszeugnis beantragen"))

    nachrichten, events = ausfuehren(a.ActionLeistungDetail(), tracker(
        "was kostet ein führungszeugnis", "frage_kosten", slots={"leistung_id": "3"}))

    assert suche.calls.last.request.url.params["q"] == "führungszeugnis"
    assert "Kosten für „Führungszeugnis beantragen“" in texte(nachrichten)
    assert slots(events)["leistung_id"] == "11"


def test_nachfrage_mit_unsicherem_rest_bleibt_bei_der_leistung_im_gespraech(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((14, "Termin im Bürgerservice vereinbaren", "unsicher")))
    sc.get("/api/v1/leistungen/3").respond(json=leistung())

    nachrichten, _ = ausfuehren(a.ActionLeistungDetail(), tracker(
        "wann hat das bürgerbüro geöffnet", "frage_oeffnungszeiten", slots={"leistung_id": "3"}))

    assert "Öffnungszeiten Bürgerservice" in texte(nachrichten)


def test_nachfrage_ohne_leistung_fragt_nach_dem_anliegen(sc):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer())

    nachrichten, events = ausfuehren(a.ActionLeistungDetail(), tracker("was kostet das?", "frage_kosten"))

    assert texte(nachrichten) == WELCHE_LEISTUNG
    assert not suche.called and events == []


def test_nachfrage_zu_unbekanntem_sagt_weiss_nicht(sc):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer())

    nachrichten, _ = ausfuehren(a.ActionLeistungDetail(), tracker("welche unterlagen brauche ich für meine mondrakete",
                                                                   "frage_unterlagen"))

    assert suche.calls.last.request.url.params["q"] == "mondrakete"
    assert texte(nachrichten) == WEISS_NICHT


def test_nachfrage_ohne_leistung_unsicher_merkt_sich_die_facette(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((6, "Wohnsitz ummelden", "unsicher"),
                                                      (34, "Gewerbe ummelden", "unsicher")))

    nachrichten, _ = ausfuehren(a.ActionLeistungDetail(), tracker("was kostet die ummeldung", "frage_kosten"))

    assert payloads(nachrichten) == ['/leistung_waehlen{"leistung_id":"6","facette":"kosten"}',
                                     '/leistung_waehlen{"leistung_id":"34","facette":"kosten"}']


def test_nachfrage_bei_ausfall(sc):
    sc.get("/api/v1/leistungen/3").mock(side_effect=httpx.ReadTimeout("langsam"))

    nachrichten, _ = ausfuehren(a.ActionLeistungDetail(), tracker("was kostet das", "frage_kosten",
                                                                   slots={"leistung_id": "3"}))

    assert texte(nachrichten) == STOERUNG


# --- status ----------------------------------------------------------------------------------------------------

STATUS = {
    "nummer": "115-2026-000123", "status": "PROCESSING", "status_text": "In Bearbeitung",
    "erklaerung": "Ihr Anliegen wird bearbeitet.", "naechster_schritt": "Sie hören von uns.",
    "thema": "Straßenschaden melden", "eingegangen_am": "2026-11-20T10:00:00Z",
    "aktualisiert_am": "2026-11-20T11:00:00Z", "verlauf": [],
}


def status_tracker(**kw):
    return tracker("status bitte", "status_abfrage",
                   slots={"ticketnummer": "115-2026-000123", "zugangscode": "ABCD-EFGH-JKMN"}, **kw)


def test_status_wird_abgefragt_und_der_code_vergessen(sc):
    route = sc.get("/api/v1/status/115-2026-000123").respond(json=STATUS)

    nachrichten, events = ausfuehren(a.ActionStatusAbfragen(), status_tracker())

    assert route.calls.last.request.url.params["code"] == "ABCD-EFGH-JKMN"
    text = texte(nachrichten)
    assert "Stand Ihres Vorgangs 115-2026-000123: In Bearbeitung" in text
    assert "Thema: Straßenschaden melden" in text and "Sie hören von uns." in text
    assert slots(events)["zugangscode"] is None


def test_status_unbekannt(sc):
    sc.get("/api/v1/status/115-2026-000123").respond(404, json={"detail": "nicht gefunden"})

    nachrichten, events = ausfuehren(a.ActionStatusAbfragen(), status_tracker())

    assert "nichts gefunden" in texte(nachrichten)
    assert slots(events) == {"zugangscode": None, "requested_slot": None, "ticketnummer": None}


def test_status_zu_viele_versuche(sc):
    sc.get("/api/v1/status/115-2026-000123").respond(429, json={"detail": "zu viele"}, headers={"Retry-After": "60"})

    nachrichten, _ = ausfuehren(a.ActionStatusAbfragen(), status_tracker())

    assert "in ein paar Minuten noch einmal" in texte(nachrichten)


@pytest.mark.parametrize("fehler", [httpx.ReadTimeout("langsam"), httpx.ConnectError("weg")])
def test_status_bei_ausfall(sc, fehler):
    sc.get("/api/v1/status/115-2026-000123").mock(side_effect=fehler)

    nachrichten, _ = ausfuehren(a.ActionStatusAbfragen(), status_tracker())

    assert "Entschuldigung" in texte(nachrichten) and "115 (Mo–Fr 8–18 Uhr)" in texte(nachrichten)


@pytest.mark.parametrize(("eingabe", "nummer"), [
    ("115-2026-000123", "115-2026-000123"), ("meine nummer ist 115 2026 000123", "115-2026-000123"),
    ("hab ich nicht", None), ("115-26-123", None),
])
def test_status_formular_prueft_die_nummer(eingabe, nummer):
    t = tracker(eingabe, "status_abfrage", slot_events={"ticketnummer": eingabe})
    nachrichten, events = ausfuehren(a.ValidateStatusForm(), t)

    assert slots(events)["ticketnummer"] == nummer
    assert bool(nachrichten) == (nummer is None)  # a hint only when it was not a number


@pytest.mark.parametrize(("eingabe", "code"), [
    ("abcd-efgh-jkmn", "ABCD-EFGH-JKMN"), ("der code ist X7K2-PQ9M-RT4Z", "X7K2-PQ9M-RT4Z"),
    ("abcd efgh jkmn", "ABCD-EFGH-JKMN"), ("ABCDEFGHJKMN", "ABCD-EFGH-JKMN"), ("weiß ich nicht", None),
    ("wann kann ich", None),
])
def test_status_formular_prueft_den_code(eingabe, code):
    t = tracker(eingabe, "status_abfrage", slots={"ticketnummer": "115-2026-000123"},
                slot_events={"zugangscode": eingabe})
    _, events = ausfuehren(a.ValidateStatusForm(), t)

    assert slots(events)["zugangscode"] == code


@pytest.mark.parametrize("intent", ["goodbye", "mit_mensch_sprechen"])
def test_ein_blanker_code_beendet_das_formular_nicht(intent):
    """A bare random code may be classified as anything; it is still the form's answer."""
    t = tracker("5PAW-MSEE-D32R", intent, slots={"ticketnummer": "115-2026-000123"},
                slot_events={"zugangscode": "5PAW-MSEE-D32R"})
    _, events = ausfuehren(a.ValidateStatusForm(), t)

    assert slots(events)["zugangscode"] == "5PAW-MSEE-D32R"


def test_status_formular_endet_wenn_ein_mensch_gewuenscht_ist(sc):
    t = tracker("ich will einen menschen", "mit_mensch_sprechen", slot_events={"ticketnummer": "ich will einen menschen"})
    _, events = ausfuehren(a.ValidateStatusForm(), t)
    assert slots(events) == {"requested_slot": None}

    route = sc.post("/api/v1/chat/bot/konv-4711/uebergabe").respond(json={"ergebnis": "ausserhalb", "text": "Später."})
    nachrichten, events = ausfuehren(a.ActionStatusAbfragen(), t)
    assert route.called and texte(nachrichten) == "Später."
    assert slots(events)["ticketnummer"] is None


# --- Mängel ----------------------------------------------------------------------------------------------------


def test_maengel_vorbereiten_nimmt_eine_beschreibung_als_was(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((60, "Defekte Straßenbeleuchtung melden", "sicher"),
                                                      art="maengelmeldung"))
    text = "die laterne vor hausnummer 5 ist seit tagen aus"

    nachrichten, events = ausfuehren(a.ActionMaengelVorbereiten(), tracker(text, "maengel_melden",
                                                                           slots={"maengel_email": "alt@x.de"}))

    assert slots(events) == {"maengel_was": text, "maengel_wo": None, "maengel_email": None,
                             "maengel_einwilligung": None}
    assert custom(nachrichten) == [{"leistung": {"id": 60, "name": "Defekte Straßenbeleuchtung melden"}}]


def test_maengel_vorbereiten_ohne_beschreibung_fragt_im_formular(sc):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer((59, "Straßenschaden melden", "sicher")))

    nachrichten, events = ausfuehren(a.ActionMaengelVorbereiten(), tracker("ich möchte einen schaden melden",
                                                                           "maengel_melden"))

    assert not suche.called and nachrichten == []
    assert all(v is None for v in slots(events).values())


@pytest.mark.parametrize(("eingabe", "erwartet"), [
    ("meine adresse: Erika.Muster@example.org bitte", {"maengel_email": "Erika.Muster@example.org"}),
    ("nein", {"maengel_email": "keine", "maengel_einwilligung": False, "requested_slot": None}),
    ("Nö, lieber ohne E-Mail", {"maengel_email": "keine", "maengel_einwilligung": False, "requested_slot": None}),
    ("quatsch", {"maengel_email": None}),
])
def test_maengel_formular_email(eingabe, erwartet):
    t = tracker(eingabe, "nlu_fallback", slots={"maengel_was": "Schlagloch", "maengel_wo": "Hansering 3"},
                slot_events={"maengel_email": eingabe})
    nachrichten, events = ausfuehren(a.ValidateMaengelForm(), t)

    assert slots(events) == erwartet
    assert bool(nachrichten) == (eingabe == "quatsch")


@pytest.mark.parametrize(("eingabe", "erwartet"), [
    ("Ja, einverstanden", True), ("jo passt", True), ("nein, nicht einverstanden", False), ("Nein, ohne E-Mail", False),
    ("vielleicht", None),
])
def test_maengel_formular_einwilligung_nur_mit_ausdruecklichem_ja(eingabe, erwartet):
    t = tracker(eingabe, "nlu_fallback", slots={"maengel_was": "Schlagloch", "maengel_wo": "Hansering 3",
                                                 "maengel_email": "erika@example.org"},
                slot_events={"maengel_einwilligung": eingabe})
    nachrichten, events = ausfuehren(a.ValidateMaengelForm(), t)

    assert slots(events)["maengel_einwilligung"] is erwartet
    assert bool(nachrichten) == (erwartet is None)


def test_maengel_formular_kurze_angaben_werden_nachgefragt():
    t = tracker("x", "nlu_fallback", slot_events={"maengel_was": "x"})
    nachrichten, events = ausfuehren(a.ValidateMaengelForm(), t)
    assert slots(events) == {"maengel_was": None} and nachrichten


MAENGEL = {"maengel_was": "Schlagloch auf dem Radweg", "maengel_wo": "Hansering 3",
           "maengel_email": "erika@example.org", "maengel_einwilligung": True}


def test_maengel_absenden_mit_einwilligung(sc):
    route = sc.post("/api/v1/chat/bot/konv-4711/maengel").respond(
        201, json={"nummer": "115-2026-000777", "status_url": "https://service.halle.test/status?nummer=115-2026-000777"})

    nachrichten, events = ausfuehren(a.ActionMaengelAbsenden(), tracker("ja", "nlu_fallback", slots=MAENGEL))

    anfrage = route.calls.last.request
    assert json.loads(anfrage.content) == {"was": "Schlagloch auf dem Radweg", "wo": "Hansering 3",
                                           "email": "erika@example.org", "einwilligung": True}
    assert anfrage.headers["Authorization"] == "Bearer bot-geheim"
    assert "115-2026-000777" in texte(nachrichten) and "per E-Mail" in texte(nachrichten)
    assert all(slots(events)[s] is None for s in MAENGEL)  # the address leaves the conversation state


def test_maengel_ohne_einwilligung_sendet_keine_email(sc):
    route = sc.post("/api/v1/chat/bot/konv-4711/maengel").respond(201, json={"nummer": "115-2026-000778"})

    ausfuehren(a.ActionMaengelAbsenden(), tracker("nein", "nlu_fallback", slots={**MAENGEL, "maengel_einwilligung": False}))

    assert json.loads(route.calls.last.request.content)["email"] is None
    assert json.loads(route.calls.last.request.content)["einwilligung"] is False


@pytest.mark.parametrize("fehler", [httpx.ReadTimeout("langsam"), httpx.ConnectError("weg")])
def test_maengel_bei_ausfall(sc, fehler):
    sc.post("/api/v1/chat/bot/konv-4711/maengel").mock(side_effect=fehler)

    nachrichten, _ = ausfuehren(a.ActionMaengelAbsenden(), tracker("ja", "nlu_fallback", slots=MAENGEL))

    assert "Entschuldigung" in texte(nachrichten) and "115" in texte(nachrichten)


def test_maengel_abgebrochen_ohne_absenden(sc):
    route = sc.post("/api/v1/chat/bot/konv-4711/maengel").respond(201, json={})

    nachrichten, _ = ausfuehren(a.ActionMaengelAbsenden(), tracker("tschüss", "goodbye",
                                                                    slots={"maengel_was": "tschüss"}))

    assert not route.called
    assert nachrichten[0]["response"] == "utter_goodbye"


# --- hand-off --------------------------------------------------------------------------------------------------


def test_uebergabe_in_die_warteschlange_pausiert_den_bot(sc):
    route = sc.post("/api/v1/chat/bot/konv-4711/uebergabe").respond(
        json={"ergebnis": "warteschlange", "text": "Eine Mitarbeiterin übernimmt gleich."})

    nachrichten, events = ausfuehren(a.ActionUebergabe(), tracker("mensch bitte", "mit_mensch_sprechen",
                                                                  slots={"leistung_id": "3"}))

    body = json.loads(route.calls.last.request.content)
    assert body == {"grund": a.MENSCH_GEWUENSCHT, "leistung_id": 3}
    assert texte(nachrichten) == "Eine Mitarbeiterin übernimmt gleich."
    assert events == [{"event": "pause", "timestamp": None}]


def test_uebergabe_ausserhalb_der_servicezeit_bleibt_beim_bot(sc):
    sc.post("/api/v1/chat/bot/konv-4711/uebergabe").respond(
        json={"ergebnis": "ausserhalb", "text": "Gerade ist niemand da. Schreiben Sie uns Ihr Anliegen."})

    nachrichten, events = ausfuehren(a.ActionUebergabe(), tracker("mensch", "mit_mensch_sprechen"))

    assert "niemand da" in texte(nachrichten)
    assert events == []


def test_uebergabe_sender_id_wird_im_pfad_kodiert(sc):
    route = sc.post("/api/v1/chat/bot/a%2Fb/uebergabe").respond(json={"ergebnis": "ausserhalb", "text": "x"})

    ausfuehren(a.ActionUebergabe(), tracker("mensch", "mit_mensch_sprechen", sender="a/b"))

    assert route.called


@pytest.mark.parametrize("antwort", [httpx.Response(500), httpx.Response(401), httpx.ReadTimeout("langsam")])
def test_uebergabe_fehler_nennt_115_und_pausiert_nicht(sc, antwort):
    antworten_mit(sc.post("/api/v1/chat/bot/konv-4711/uebergabe"), antwort)

    nachrichten, events = ausfuehren(a.ActionUebergabe(), tracker("mensch", "mit_mensch_sprechen"))

    assert "115" in texte(nachrichten)
    assert events == []


def test_maengel_formular_schweigt_zu_zurueckgesetzten_slots():
    # action_maengel_vorbereiten resets the slots right before the form: those None values are no answers.
    t = tracker("ich will einen schaden melden", "maengel_melden",
                slot_events={"maengel_was": None, "maengel_wo": None, "maengel_email": None,
                             "maengel_einwilligung": None})
    nachrichten, events = ausfuehren(a.ValidateMaengelForm(), t)
    assert nachrichten == []
    assert all(v is None for v in slots(events).values())


def test_weder_fragen_noch_codes_landen_im_log(sc, caplog):
    sc.get("/api/v1/status/115-2026-000123").respond(json=STATUS)
    sc.get("/api/v1/leistungen").respond(json=treffer())
    with caplog.at_level("DEBUG"):
        ausfuehren(a.ActionStatusAbfragen(), status_tracker())
        ausfuehren(a.ActionLeistungBeantworten(), tracker("ich heiße Erika Muster und wohne im Hansering 3"))
    assert "ABCD-EFGH-JKMN" not in caplog.text
    assert "Erika" not in caplog.text and "Hansering" not in caplog.text


def test_maengel_vorbereiten_sucht_mit_limit_3(sc):
    # With limit=1 the search cannot compare the top hit with the next ones and reports "unsicher".
    suche = sc.get("/api/v1/leistungen").respond(json=treffer((61, "Defekte Ampel melden", "sicher"),
                                                              art="maengelmeldung"))

    nachrichten, events = ausfuehren(a.ActionMaengelVorbereiten(), tracker("Ampel ausgefallen", "maengel_melden"))

    assert suche.calls.last.request.url.params["limit"] == "3"
    assert slots(events)["maengel_was"] == "Ampel ausgefallen"
    assert custom(nachrichten) == [{"leistung": {"id": 61, "name": "Defekte Ampel melden"}}]


def test_maengel_intent_mit_sicherer_leistung_beantwortet_sie_statt_des_formulars(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((7, "Sterbefall beurkunden lassen", "sicher")))
    sc.get("/api/v1/leistungen/7").respond(json=leistung(7, "Sterbefall beurkunden lassen"))

    nachrichten, events = ausfuehren(a.ActionMaengelVorbereiten(),
                                     tracker("Todesfall beim Standesamt melden", "maengel_melden"))

    assert custom(nachrichten) == [{"leistung": {"id": 7, "name": "Sterbefall beurkunden lassen"}}]
    assert {"event": "followup", "name": "action_listen"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]
    assert slots(events)["maengel_was"] is None


# --- Leistung cache ----------------------------------------------------------------------------------------------


def test_leistung_wird_kurz_gemerkt_und_nicht_fuer_jede_nachfrage_neu_geladen(sc):
    detail = sc.get("/api/v1/leistungen/3").respond(json=leistung())
    t = tracker("was kostet das", "frage_kosten", slots={"leistung_id": "3"})
    sc.get("/api/v1/leistungen").respond(json=treffer())

    ausfuehren(a.ActionLeistungDetail(), t)
    nachrichten, _ = ausfuehren(a.ActionLeistungDetail(), tracker("welche unterlagen", "frage_unterlagen",
                                                                   slots={"leistung_id": "3"}))

    assert detail.call_count == 1
    assert "Reisepass" in texte(nachrichten)


def test_leistung_cache_laeuft_ab_und_ist_abschaltbar(sc, monkeypatch):
    from actions import servicecenter

    detail = sc.get("/api/v1/leistungen/3").respond(json=leistung())
    sc.get("/api/v1/leistungen").respond(json=treffer())
    t = tracker("was kostet das", "frage_kosten", slots={"leistung_id": "3"})
    uhr = [1000.0]
    monkeypatch.setattr(servicecenter.time, "monotonic", lambda: uhr[0])
    ausfuehren(a.ActionLeistungDetail(), t)
    uhr[0] += 59
    ausfuehren(a.ActionLeistungDetail(), t)
    assert detail.call_count == 1
    uhr[0] += 2  # 61 s after loading: an edit in the Redaktion is visible now
    ausfuehren(a.ActionLeistungDetail(), t)
    assert detail.call_count == 2

    monkeypatch.setenv("SERVICECENTER_BOT_CACHE_SEKUNDEN", "0")
    servicecenter.cache_leeren()
    ausfuehren(a.ActionLeistungDetail(), t)
    ausfuehren(a.ActionLeistungDetail(), t)
    assert detail.call_count == 4


def test_fehler_werden_nicht_gemerkt(sc):
    detail = sc.get("/api/v1/leistungen/3").mock(side_effect=[httpx.Response(503), httpx.Response(200,
                                                                                                  json=leistung())])
    sc.get("/api/v1/leistungen").respond(json=treffer())
    t = tracker("was kostet das", "frage_kosten", slots={"leistung_id": "3"})
    assert texte(ausfuehren(a.ActionLeistungDetail(), t)[0]) == STOERUNG
    assert "Reisepass" in texte(ausfuehren(a.ActionLeistungDetail(), t)[0])
    assert detail.call_count == 2


# --- greet -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["hallo", "Guten Morgen!", "moin moin", "Grüß Gott", "hi there", "Servus"])
def test_gruss_begruesst_ohne_suche(sc, text):
    suche = sc.get("/api/v1/leistungen").respond(json=treffer((3, "Reisepass beantragen", "sicher")))
    nachrichten, _ = ausfuehren(a.ActionBegruessen(), tracker(text, "greet"))
    assert [m.get("response") for m in nachrichten] == ["utter_greet"]
    assert not suche.called


def test_als_gruss_erkannt_aber_ohne_grusswort_und_bekannt_wird_beantwortet(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((3, "Reisepass beantragen", "sicher")))
    sc.get("/api/v1/leistungen/3").respond(json=leistung())
    nachrichten, events = ausfuehren(a.ActionBegruessen(), tracker("Auto stilllegen", "greet"))
    assert custom(nachrichten) == [{"leistung": {"id": 3, "name": "Reisepass beantragen"}}]
    assert slots(events)["leistung_id"] == "3"


def test_als_gruss_erkannt_unsicher_fragt_meinten_sie(sc):
    sc.get("/api/v1/leistungen").respond(json=treffer((3, "Reisepass beantragen", "unsicher"),
                                                      (4, "Kinderreisepass beantragen", "unsicher")))
    nachrichten, _ = ausfuehren(a.ActionBegruessen(), tracker("passding", "greet"))
    assert "/leistung_waehlen" in " ".join(payloads(nachrichten))


@pytest.mark.parametrize("antwort", [httpx.Response(200, json=treffer((3, "Reisepass beantragen", "kein Treffer"))),
                                     httpx.Response(503), httpx.ConnectError("weg")])
def test_ohne_grusswort_aber_unbekannt_oder_api_weg_begruesst(sc, antwort):
    antworten_mit(sc.get("/api/v1/leistungen"), antwort)
    nachrichten, _ = ausfuehren(a.ActionBegruessen(), tracker("joa", "greet"))
    assert [m.get("response") for m in nachrichten] == ["utter_greet"]

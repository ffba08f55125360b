"""German texts of the answers built from API data (formal "Sie"). Pure functions, easy to test."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

QUELLE = "Quelle: Wissensdatenbank der Stadt Halle (Saale)"
TELEFON_115 = "die Behördennummer 115 (Mo–Fr 8–18 Uhr)"
STOERUNG = (
    "Entschuldigung, ich kann die Wissensdatenbank der Stadt gerade nicht erreichen. Bitte versuchen Sie es "
    f"später noch einmal oder rufen Sie {TELEFON_115} an."
)
WEISS_NICHT = (
    "Dazu habe ich in der Wissensdatenbank der Stadt Halle (Saale) leider nichts Passendes gefunden – ich möchte "
    "Ihnen nichts Falsches sagen. Gern verbinde ich Sie mit einer Mitarbeiterin oder einem Mitarbeiter. "
    f"Sie erreichen uns auch über {TELEFON_115}."
)
WELCHE_LEISTUNG = (
    "Zu welcher Leistung möchten Sie das wissen? Nennen Sie mir bitte Ihr Anliegen, zum Beispiel "
    "„Reisepass beantragen“ oder „Auto anmelden“."
)

FACETTEN = ("unterlagen", "kosten", "oeffnungszeiten", "zustaendige_stelle", "online")
FACETTE_ZU_INTENT = {f: f"frage_{f}" for f in FACETTEN}
INTENT_ZU_FACETTE = {v: k for k, v in FACETTE_ZU_INTENT.items()}

WOCHENTAGE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]

BUTTON_MENSCH = {"title": "Mit einem Menschen sprechen", "payload": "/mit_mensch_sprechen"}


def folge_buttons(art: str = "leistung") -> list[dict[str, str]]:
    buttons = []
    if art == "maengelmeldung":
        buttons.append({"title": "Jetzt melden", "payload": "/maengel_melden"})
    buttons += [
        {"title": "Welche Unterlagen?", "payload": "/frage_unterlagen"},
        {"title": "Was kostet das?", "payload": "/frage_kosten"},
        {"title": "Öffnungszeiten", "payload": "/frage_oeffnungszeiten"},
        {"title": "Wer ist zuständig?", "payload": "/frage_zustaendige_stelle"},
        {"title": "Online erledigen?", "payload": "/frage_online"},
    ]
    return buttons


def waehlen_payload(leistung_id: int | str, facette: str | None = None) -> str:
    """Payload of a "Meinten Sie …?" button: selects the Leistung (and keeps the asked follow-up)."""
    entitaeten: dict[str, str] = {"leistung_id": str(leistung_id)}
    if facette:
        entitaeten["facette"] = facette
    return "/leistung_waehlen" + json.dumps(entitaeten, ensure_ascii=False, separators=(",", ":"))


def quelle(link: str) -> str:
    return f"{QUELLE}: {link}"


def euro(betrag: Any) -> str | None:
    try:
        wert = Decimal(str(betrag))
    except (InvalidOperation, ValueError):
        return None
    return f"{wert:.2f} Euro".replace(".", ",")


def kosten_text(leistung: dict[str, Any]) -> str:
    k = leistung.get("kosten") or {}
    if k.get("text"):
        return str(k["text"])
    if k.get("betrag") is None:
        return ""
    von = euro(k.get("betrag"))
    if von is None:
        return ""
    if Decimal(str(k["betrag"])) == 0 and not k.get("betrag_bis"):
        return "kostenlos"
    bis = euro(k.get("betrag_bis")) if k.get("betrag_bis") is not None else None
    return f"{von} bis {bis}" if bis else von


def antwort_sicher(leistung: dict[str, Any], link: str) -> str:
    teile = [f"{leistung['leistungsname']}", (leistung.get("kurztext") or leistung.get("teaser") or "").strip()]
    fakten = []
    if kosten := kosten_text(leistung):
        fakten.append(f"Kosten: {kosten}")
    if leistung.get("bearbeitungsdauer"):
        fakten.append(f"Bearbeitungsdauer: {leistung['bearbeitungsdauer']}")
    if dienste := leistung.get("onlinedienste"):
        fakten.append(f"Online: {dienste[0].get('name', '')} {dienste[0].get('url', '')}".rstrip())
    if stellen := leistung.get("zustaendige_stellen"):
        fakten.append(f"Zuständig: {stellen[0]['organisationseinheit']['name']}")
    if fakten:
        teile.append("\n".join(fakten))
    teile.append(quelle(link))
    return "\n\n".join(t for t in teile if t)


def antwort_meinten_sie(treffer: list[dict[str, Any]]) -> str:
    namen = ", ".join(f"„{t['name']}“" for t in treffer)
    return (
        f"Ich bin mir nicht sicher, was Sie meinen. Meinten Sie {namen}? Bitte wählen Sie aus. "
        "(Die Vorschläge stammen aus der Wissensdatenbank der Stadt Halle (Saale).)"
    )


def _stellen(leistung: dict[str, Any]) -> list[dict[str, Any]]:
    return [z["organisationseinheit"] for z in leistung.get("zustaendige_stellen") or []][:2]


def _zeit(wert: str) -> str:
    return wert[:5]


def oeffnungszeiten_text(oe: dict[str, Any]) -> str:
    tage: dict[int, list[str]] = {}
    for slot in oe.get("oeffnungszeiten") or []:
        tage.setdefault(int(slot["wochentag"]), []).append(f"{_zeit(slot['von'])}–{_zeit(slot['bis'])} Uhr")
    zeilen = [f"{WOCHENTAGE[t]}: {', '.join(z)}" for t, z in sorted(tage.items())]
    if not zeilen:
        zeilen = ["Feste Öffnungszeiten sind nicht hinterlegt."]
    if jetzt := (oe.get("jetzt") or {}).get("text"):
        zeilen.append(jetzt)
    return "\n".join(zeilen)


def antwort_facette(leistung: dict[str, Any], facette: str, link: str) -> str:
    name = leistung["leistungsname"]
    if facette == "unterlagen":
        unterlagen = leistung.get("unterlagen") or []
        if unterlagen:
            text = f"Für „{name}“ brauchen Sie:\n" + "\n".join(f"- {u}" for u in unterlagen)
        else:
            text = f"Für „{name}“ sind keine besonderen Unterlagen hinterlegt."
        if formulare := leistung.get("formulare"):
            text += "\n\nFormulare:\n" + "\n".join(f"- {f['name']}: {f.get('url', '')}".rstrip(": ") for f in formulare)
    elif facette == "kosten":
        kosten = kosten_text(leistung)
        text = f"Kosten für „{name}“: {kosten}" if kosten else f"Zu den Kosten für „{name}“ ist nichts hinterlegt."
    elif facette == "oeffnungszeiten":
        stellen = _stellen(leistung)
        if stellen:
            text = "\n\n".join(f"Öffnungszeiten {oe['name']}:\n{oeffnungszeiten_text(oe)}" for oe in stellen)
        else:
            text = f"Für „{name}“ ist keine zuständige Stelle mit Öffnungszeiten hinterlegt."
        if leistung.get("termin_moeglich") and leistung.get("termin_url"):
            text += f"\n\nTermin vereinbaren: {leistung['termin_url']}"
    elif facette == "zustaendige_stelle":
        stellen = _stellen(leistung)
        if stellen:
            bloecke = []
            for oe in stellen:
                zeilen = [oe["name"], oe.get("anschrift", "")]
                if oe.get("telefon"):
                    zeilen.append(f"Telefon: {oe['telefon']}")
                if oe.get("email"):
                    zeilen.append(f"E-Mail: {oe['email']}")
                if oe.get("web"):
                    zeilen.append(f"Web: {oe['web']}")
                bloecke.append("\n".join(z for z in zeilen if z))
            text = f"Zuständig für „{name}“:\n" + "\n\n".join(bloecke)
        else:
            text = f"Für „{name}“ ist keine zuständige Stelle hinterlegt."
    elif facette == "online":
        dienste = leistung.get("onlinedienste") or []
        if dienste:
            text = f"„{name}“ können Sie online erledigen:\n" + "\n".join(
                f"- {d['name']}: {d.get('url', '')}".rstrip(": ") for d in dienste
            )
        else:
            text = (
                f"Für „{name}“ ist kein Onlinedienst hinterlegt; bitte wenden Sie sich an die zuständige Stelle."
            )
        if leistung.get("termin_moeglich") and leistung.get("termin_url"):
            text += f"\n\nEinen Termin können Sie online vereinbaren: {leistung['termin_url']}"
    else:
        raise ValueError(facette)
    return f"{text}\n\n{quelle(link)}"


# Words of follow-up questions and fillers: what remains names the Leistung ("was kostet ein Reisepass").
FOLGE_WOERTER = set(
    """
    was wie wo wer wann welche welcher welches wieviel viel viele ist sind gibt es das der die dem den des dass
    ein eine einen einem einer ich mir mich man mein meine meinen wir uns sie ihr euch ihnen du dafür dazu
    da hin dahin denn noch auch schon mal bitte und oder für fürs zum zur von vom bei mit im in an auf aus ab bis
    kostet kosten koste kosted teuer gebühr gebühren gebuehr gebuehren preis bezahlen zahlen umsonst kostenlos
    gebührenfrei geld euro extra ermäßigung
    unterlagen unterlagn unterlgen dokumente papiere nachweise belege formulare formular mitbringen mitbrigen
    mitnehmen vorlegen einreichen brauche brauch braucht brauchen benötigte benötige nötig muss mus musst müssen
    öffnungszeiten oeffnungszeiten öfnungszeiten geöffnet offen auf sprechzeiten heute morgen samstags montags
    zuständig zustendig zuständige stelle amt behörde adresse wohin hingehen kontakt telefonnummer
    online onlien onlin internet digital digitale elektronisch portal link app handy zuhause post e-mail email
    machen erledigen beantragen antrag stellen kann können geht gehts möglich persönlich vorbeikommen erscheinen
    alles dinge sachen so nur haben habt hat damit dann eigentlich genau jetzt hier dort wieder nochmal denn
    mich nicht kein keine gerne würde möchte will wollte soll sollte ihr ihre euer eure unsere unser
    """.split()
)


def restwoerter(text: str) -> str:
    """The words of a follow-up question that are not follow-up vocabulary."""
    woerter = re.findall(r"[\wäöüß-]+", text.lower())
    return " ".join(w for w in woerter if w not in FOLGE_WOERTER and len(w) > 2)

"""Custom actions: answers from the knowledge base, follow-ups, status query, Mängel form, hand-off."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import texte
from actions.servicecenter import ApiFehler, NichtGefunden, Servicecenter, ZuVieleVersuche

log = logging.getLogger(__name__)

TICKETNUMMER = re.compile(r"\b115\s*-?\s*(\d{4})\s*-?\s*(\d{6})\b")
ZUGANGSCODE = re.compile(r"\b([A-Za-z0-9]{4})-([A-Za-z0-9]{4})-([A-Za-z0-9]{4})\b")
EMAIL = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[A-Za-z]{2,}")
# Yes/no inside the Mängel form are read from the text: no NLU intents for them (fewer confusable intents).
NEIN = re.compile(r"\b(nein|nee|ne|nö|noe|nicht|kein\w*|ohne|no|nope)\b", re.IGNORECASE)
JA = re.compile(r"\b(ja+|jap|jo|jep|jawohl|gerne?|einverstanden|ok|okay|klar|zustimmen|stimme zu|yes)\b", re.IGNORECASE)
# Greeting words (a closed class). DIET puts short messages with words it never saw near the greet examples
# ("Auto stilllegen" came out as greet at 0.77): a "greeting" without any of these words is searched instead.
GRUSS = re.compile(
    r"\b(hall[oö]\w*|hi+|hey+|huhu|moin\w*|servus|tag|tach|guten|gute[nr]?|morgen|abend|n'?abend|mahlzeit|"
    r"gr[uü]e?(ß|ss|s)\w*|grüezi|gruezi|ahoi|hello|salut|yo|na|hu+hu|willkommen)\b",
    re.IGNORECASE,
)
# Intents that end a running form: the citizen wants something else.
ABBRUCH = {"mit_mensch_sprechen", "goodbye"}


def servicecenter() -> Servicecenter:
    """Read the settings at call time, so the action server honours its environment (and tests can set it)."""
    return Servicecenter()


def _entitaet(tracker: Tracker, name: str) -> str | None:
    wert = next(tracker.get_latest_entity_values(name), None)
    return str(wert) if wert is not None else None


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _bricht_ab(tracker: Tracker) -> bool:
    """The citizen wants out of a running form. A message that carries a ticket number or an access code is an
    answer to the form, whatever intent NLU guessed for it (a bare random code can look like anything)."""
    if _intent(tracker) not in ABBRUCH:
        return False
    text = _text(tracker)
    return not (zugangscode_finden(text) or ticketnummer_finden(text))


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _leistung_payload(leistung_id: Any, name: str, **extra: Any) -> dict[str, Any]:
    # Contract with the servicecenter: it reads "leistung" and does not show this message.
    return {"leistung": {"id": int(leistung_id), "name": name}, **extra}


async def _sicher_antworten(
    dispatcher: CollectingDispatcher, sc: Servicecenter, leistung_id: Any, facette: str | None = None
) -> list[EventType]:
    """Answer with one Leistung (full answer or one follow-up) and remember it in the conversation."""
    try:
        leistung = await sc.leistung(leistung_id)
    except NichtGefunden:
        dispatcher.utter_message(text=texte.WEISS_NICHT, buttons=[texte.BUTTON_MENSCH])
        return [SlotSet("leistung_id", None), SlotSet("leistung_name", None)]
    link = sc.leistung_link(leistung["id"])
    if facette:
        text = texte.antwort_facette(leistung, facette, link)
        buttons = [b for b in texte.folge_buttons(leistung.get("art", "")) if b["payload"] != f"/frage_{facette}"]
    else:
        text = texte.antwort_sicher(leistung, link)
        buttons = texte.folge_buttons(leistung.get("art", ""))
    dispatcher.utter_message(text=text, buttons=buttons)
    dispatcher.utter_message(json_message=_leistung_payload(leistung["id"], leistung["leistungsname"]))
    return [SlotSet("leistung_id", str(leistung["id"])), SlotSet("leistung_name", leistung["leistungsname"])]


def _meinten_sie(
    dispatcher: CollectingDispatcher, treffer: list[dict[str, Any]], facette: str | None = None
) -> list[EventType]:
    vorschlaege = [t for t in treffer if t.get("konfidenz") != "kein Treffer"][:3]
    buttons = [{"title": t["name"], "payload": texte.waehlen_payload(t["id"], facette)} for t in vorschlaege]
    dispatcher.utter_message(text=texte.antwort_meinten_sie(vorschlaege), buttons=buttons)
    # The servicecenter learns the best guess (for the desk on a hand-off), marked as unsure.
    top = vorschlaege[0]
    dispatcher.utter_message(json_message=_leistung_payload(top["id"], top["name"], konfidenz="unsicher"))
    return []


async def _beantworten(
    dispatcher: CollectingDispatcher, frage: str, *, wenn_nichts: str | None = None
) -> list[EventType]:
    """Search with the whole message and answer by the search's confidence."""
    sc = servicecenter()
    try:
        treffer = await sc.suchen(frage, limit=3)
        if treffer and treffer[0].get("konfidenz") == "sicher":
            return await _sicher_antworten(dispatcher, sc, treffer[0]["id"])
        if treffer and treffer[0].get("konfidenz") == "unsicher":
            return _meinten_sie(dispatcher, treffer)
    except ApiFehler:
        dispatcher.utter_message(text=texte.STOERUNG)
        return []
    if wenn_nichts:
        dispatcher.utter_message(response=wenn_nichts)
    else:
        dispatcher.utter_message(text=texte.WEISS_NICHT, buttons=[texte.BUTTON_MENSCH])
    return []


class ActionLeistungBeantworten(Action):
    """frage_leistung: search with the whole message; leistung_waehlen: the Leistung chosen by button."""

    def name(self) -> str:
        return "action_leistung_beantworten"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if _intent(tracker) == "leistung_waehlen":
            leistung_id = _entitaet(tracker, "leistung_id")
            if leistung_id and leistung_id.isdigit():
                facette = _entitaet(tracker, "facette")
                try:
                    return await _sicher_antworten(
                        dispatcher, servicecenter(), leistung_id, facette if facette in texte.FACETTEN else None
                    )
                except ApiFehler:
                    dispatcher.utter_message(text=texte.STOERUNG)
                    return []
        return await _beantworten(dispatcher, _text(tracker))


class ActionBegruessen(Action):
    """greet: the greeting, unless the message has no greeting word and the knowledge base knows what it is
    about; then it is answered like a question about a Leistung."""

    def name(self) -> str:
        return "action_begruessen"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = _text(tracker)
        if text and not GRUSS.search(text):
            try:
                treffer = await servicecenter().suchen(text, limit=3)
            except ApiFehler:
                treffer = []
            if treffer and treffer[0].get("konfidenz") in ("sicher", "unsicher"):
                return await _beantworten(dispatcher, text)
        dispatcher.utter_message(response="utter_greet")
        return []


class ActionFallbackSuche(Action):
    """Below the NLU threshold the bot does not guess an intent, but the knowledge base may still know it."""

    def name(self) -> str:
        return "action_fallback_suche"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await _beantworten(dispatcher, _text(tracker), wenn_nichts="utter_nicht_verstanden")


class ActionLeistungDetail(Action):
    """Follow-ups (Unterlagen, Kosten, Öffnungszeiten, zuständige Stelle, online) on the Leistung in the slot,
    or on a Leistung the question itself names ("Was kostet ein Reisepass?")."""

    def name(self) -> str:
        return "action_leistung_detail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        facette = texte.INTENT_ZU_FACETTE.get(_intent(tracker) or "", "unterlagen")
        im_gespraech = tracker.get_slot("leistung_id")
        sc = servicecenter()
        try:
            rest = texte.restwoerter(_text(tracker))
            treffer = await sc.suchen(rest, limit=3) if rest else []
            if treffer and treffer[0].get("konfidenz") == "sicher":
                return await _sicher_antworten(dispatcher, sc, treffer[0]["id"], facette)
            if im_gespraech:
                return await _sicher_antworten(dispatcher, sc, im_gespraech, facette)
            if treffer and treffer[0].get("konfidenz") == "unsicher":
                return _meinten_sie(dispatcher, treffer, facette)
        except ApiFehler:
            dispatcher.utter_message(text=texte.STOERUNG)
            return []
        if rest:
            # The question names something the knowledge base does not know.
            dispatcher.utter_message(text=texte.WEISS_NICHT, buttons=[texte.BUTTON_MENSCH])
        else:
            dispatcher.utter_message(text=texte.WELCHE_LEISTUNG)
        return []


async def _uebergeben(dispatcher: CollectingDispatcher, tracker: Tracker, grund: str) -> list[EventType]:
    leistung_id = tracker.get_slot("leistung_id")
    try:
        antwort = await servicecenter().uebergabe(
            tracker.sender_id, grund=grund,
            leistung_id=int(leistung_id) if leistung_id and str(leistung_id).isdigit() else None,
        )
    except (ApiFehler, NichtGefunden, ZuVieleVersuche):
        dispatcher.utter_message(
            text="Entschuldigung, die Weiterleitung an eine Mitarbeiterin oder einen Mitarbeiter klappt gerade "
            f"nicht. Bitte rufen Sie {texte.TELEFON_115} an."
        )
        return []
    ergebnis = antwort.get("ergebnis")
    text = antwort.get("text") or (
        "Ich verbinde Sie mit einer Mitarbeiterin oder einem Mitarbeiter. Einen Moment bitte."
        if ergebnis == "warteschlange"
        else "Gerade ist niemand erreichbar. Sie können uns Ihr Anliegen schreiben; Sie erhalten innerhalb von "
        "24 Stunden (an Werktagen) eine Antwort."
    )
    dispatcher.utter_message(text=text)
    if ergebnis == "warteschlange":
        # A human owns the conversation now; the bot stays silent until the servicecenter resumes it.
        return [ConversationPaused()]
    return []


async def _abbrechen(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """A form ended because the citizen wants something else: do that instead."""
    if _intent(tracker) == "mit_mensch_sprechen":
        return await _uebergeben(dispatcher, tracker, MENSCH_GEWUENSCHT)
    dispatcher.utter_message(response="utter_goodbye")
    return []


MENSCH_GEWUENSCHT = "Bürgerin oder Bürger möchte mit einem Menschen sprechen"


class ActionUebergabe(Action):
    def name(self) -> str:
        return "action_uebergabe"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await _uebergeben(dispatcher, tracker, MENSCH_GEWUENSCHT)


# --- status ------------------------------------------------------------------------------------------------


def ticketnummer_finden(text: str) -> str | None:
    m = TICKETNUMMER.search(text or "")
    return f"115-{m.group(1)}-{m.group(2)}" if m else None


def zugangscode_finden(text: str) -> str | None:
    text = (text or "").strip()
    if m := ZUGANGSCODE.search(text):
        return "-".join(g.upper() for g in m.groups())
    # Also accepted: the code typed as one block or in three groups of four, without hyphens.
    if m := re.fullmatch(r"([A-Za-z0-9]{4}) ?([A-Za-z0-9]{4}) ?([A-Za-z0-9]{4})", text):
        return "-".join(g.upper() for g in m.groups())
    return None


class ValidateStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_status_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if _bricht_ab(tracker) else domain_slots

    def validate_ticketnummer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"ticketnummer": None}
        if _bricht_ab(tracker):
            return {"ticketnummer": None}
        nummer = ticketnummer_finden(str(value or "")) or ticketnummer_finden(_text(tracker))
        if nummer is None:
            dispatcher.utter_message(text="Das sieht nicht wie eine Vorgangsnummer aus. Sie hat die Form 115-2026-000123.")
        return {"ticketnummer": nummer}

    def validate_zugangscode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"zugangscode": None}
        if _bricht_ab(tracker):
            return {"zugangscode": None}
        code = zugangscode_finden(str(value or ""))
        if code is None:
            dispatcher.utter_message(text="Das sieht nicht wie ein Zugangscode aus. Er hat die Form ABCD-EFGH-JKMN.")
        return {"zugangscode": code}


class ActionStatusAbfragen(Action):
    def name(self) -> str:
        return "action_status_abfragen"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # The access code is a secret: it leaves the conversation state right after the query.
        vergessen: list[EventType] = [SlotSet("zugangscode", None), SlotSet("requested_slot", None)]
        if _bricht_ab(tracker):
            return vergessen + [SlotSet("ticketnummer", None)] + await _abbrechen(dispatcher, tracker)
        nummer, code = tracker.get_slot("ticketnummer"), tracker.get_slot("zugangscode")
        if not nummer or not code:
            dispatcher.utter_message(text="Gut, ich frage den Stand nicht ab. Kann ich sonst etwas für Sie tun?")
            return vergessen
        try:
            status = await servicecenter().status(nummer, code)
        except NichtGefunden:
            dispatcher.utter_message(
                text=f"Zu der Vorgangsnummer {nummer} mit diesem Zugangscode habe ich nichts gefunden. Bitte prüfen "
                "Sie Nummer und Code in Ihrer Bestätigung."
            )
            return vergessen + [SlotSet("ticketnummer", None)]
        except ZuVieleVersuche:
            dispatcher.utter_message(
                text="Es gab zu viele Abfragen in kurzer Zeit. Bitte versuchen Sie es in ein paar Minuten noch einmal."
            )
            return vergessen
        except ApiFehler:
            dispatcher.utter_message(
                text="Entschuldigung, ich kann den Stand gerade nicht abrufen. Bitte versuchen Sie es später noch "
                f"einmal oder rufen Sie {texte.TELEFON_115} an."
            )
            return vergessen
        zeilen = [f"Stand Ihres Vorgangs {status.get('nummer', nummer)}: {status.get('status_text', '')}"]
        if status.get("thema"):
            zeilen.append(f"Thema: {status['thema']}")
        if status.get("erklaerung"):
            zeilen.append(status["erklaerung"])
        if status.get("naechster_schritt"):
            zeilen.append(f"Wie es weitergeht: {status['naechster_schritt']}")
        dispatcher.utter_message(text="\n".join(zeilen))
        return vergessen


# --- Mängel ------------------------------------------------------------------------------------------------

MAENGEL_FUELLWOERTER = set(
    """ich möchte will würde gern gerne einen eine ein einem den die das der melden meldung mangel mängel maengel
    schaden beschädigung störung missstand etwas was bitte hier da mal machen über wo kann mängelmelder""".split()
)
MAENGEL_SLOTS = ("maengel_was", "maengel_wo", "maengel_email", "maengel_einwilligung")


class ActionMaengelVorbereiten(Action):
    """Before the form: forget an earlier report and take the first message as "was" when it already
    describes a defect the knowledge base knows ("Die Laterne vor Nr. 5 ist aus")."""

    def name(self) -> str:
        return "action_maengel_vorbereiten"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(s, None) for s in MAENGEL_SLOTS]
        text = _text(tracker)
        if text.startswith("/"):
            return events
        rest = [w for w in re.findall(r"[\wäöüß-]+", text.lower()) if w not in MAENGEL_FUELLWOERTER and len(w) > 2]
        if not rest:
            return events
        sc = servicecenter()
        try:
            # limit 3 like the other searches: the search's confidence looks at the gap to the next hits, so with
            # limit=1 "Ampel ausgefallen" came back "unsicher" and the report lost its category (bench/chat.py).
            treffer = await sc.suchen(text, limit=3)
        except ApiFehler:
            return events
        if treffer and treffer[0].get("konfidenz") == "sicher" and treffer[0].get("art") != "maengelmeldung":
            # "Todesfall beim Standesamt melden" reads like a report but asks for a Leistung the knowledge base
            # knows for sure: answer it and skip the form (FollowupAction overrides the rule's next step).
            try:
                return events + await _sicher_antworten(dispatcher, sc, treffer[0]["id"]) + [
                    FollowupAction("action_listen")]
            except ApiFehler:
                return events
        if treffer and treffer[0].get("konfidenz") == "sicher" and treffer[0].get("art") == "maengelmeldung":
            dispatcher.utter_message(
                text=f"Ich nehme Ihre Meldung auf („{treffer[0]['name']}“, laut Wissensdatenbank der Stadt Halle (Saale))."
            )
            dispatcher.utter_message(json_message=_leistung_payload(treffer[0]["id"], treffer[0]["name"]))
            events.append(SlotSet("maengel_was", text[:2000]))
        return events


class ValidateMaengelForm(FormValidationAction):
    def name(self) -> str:
        return "validate_maengel_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if _bricht_ab(tracker):
            return []
        if tracker.slots.get("maengel_email") == "keine":
            return [s for s in domain_slots if s != "maengel_einwilligung"]
        return domain_slots

    def validate_maengel_was(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # reset before the form (action_maengel_vorbereiten): nothing to check
            return {"maengel_was": None}
        text = str(value or "").strip()
        if _bricht_ab(tracker):
            return {"maengel_was": None}
        if len(text) < 3:
            dispatcher.utter_message(text="Bitte beschreiben Sie den Mangel in ein paar Worten.")
            return {"maengel_was": None}
        return {"maengel_was": text[:2000]}

    def validate_maengel_wo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # reset before the form (action_maengel_vorbereiten): nothing to check
            return {"maengel_wo": None}
        text = str(value or "").strip()
        if _bricht_ab(tracker):
            return {"maengel_wo": None}
        if len(text) < 3:
            dispatcher.utter_message(text="Bitte nennen Sie den Ort genauer, zum Beispiel Straße und Hausnummer.")
            return {"maengel_wo": None}
        return {"maengel_wo": text[:500]}

    def validate_maengel_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # reset before the form (action_maengel_vorbereiten): nothing to check
            return {"maengel_email": None}
        text = str(value or "").strip()
        if _bricht_ab(tracker):
            return {"maengel_email": None}
        if m := EMAIL.search(text):
            return {"maengel_email": m.group(0)[:254]}
        if NEIN.search(text):
            return {"maengel_email": "keine", "maengel_einwilligung": False}
        dispatcher.utter_message(
            text="Das sieht nicht wie eine E-Mail-Adresse aus. Bitte schreiben Sie sie so: name@beispiel.de – "
            "oder antworten Sie mit „nein“."
        )
        return {"maengel_email": None}


    def validate_maengel_einwilligung(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"maengel_einwilligung": None}
        text = str(value)
        if _bricht_ab(tracker):
            return {"maengel_einwilligung": None}
        # Only an explicit yes counts as consent; "nicht einverstanden" is a no.
        if NEIN.search(text):
            return {"maengel_einwilligung": False}
        if JA.search(text):
            return {"maengel_einwilligung": True}
        dispatcher.utter_message(text="Bitte antworten Sie mit „ja“ oder „nein“.")
        return {"maengel_einwilligung": None}


class ActionMaengelAbsenden(Action):
    def name(self) -> str:
        return "action_maengel_absenden"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # The e-mail address is needed once, by the API; it does not stay in the conversation state.
        vergessen: list[EventType] = [SlotSet(s, None) for s in MAENGEL_SLOTS] + [SlotSet("requested_slot", None)]
        if _bricht_ab(tracker):
            return vergessen + await _abbrechen(dispatcher, tracker)
        was, wo = tracker.get_slot("maengel_was"), tracker.get_slot("maengel_wo")
        if not was or not wo:
            dispatcher.utter_message(text="Gut, ich habe die Meldung nicht abgeschickt. Kann ich sonst etwas für Sie tun?")
            return vergessen
        email = tracker.get_slot("maengel_email")
        einwilligung = tracker.get_slot("maengel_einwilligung") is True
        if email in (None, "keine") or not einwilligung:
            email, einwilligung = None, False
        try:
            antwort = await servicecenter().maengel(
                tracker.sender_id, was=was, wo=wo, email=email, einwilligung=einwilligung
            )
        except (ApiFehler, NichtGefunden, ZuVieleVersuche):
            dispatcher.utter_message(
                text="Entschuldigung, Ihre Meldung konnte ich gerade nicht weitergeben. Bitte versuchen Sie es "
                f"später noch einmal oder melden Sie den Mangel über {texte.TELEFON_115}."
            )
            return vergessen
        text = f"Vielen Dank, Ihre Meldung ist eingegangen. Ihre Vorgangsnummer lautet {antwort.get('nummer')}."
        if antwort.get("status_url"):
            text += f" Den Bearbeitungsstand sehen Sie hier: {antwort['status_url']}"
        if email:
            text += " Wir informieren Sie per E-Mail, wenn es Neuigkeiten gibt."
        dispatcher.utter_message(text=text)
        return vergessen

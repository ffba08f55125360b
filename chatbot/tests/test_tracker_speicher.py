"""The tracker store of the Rasa server, the action calls with the current turn's events, and the dialogue states
continued from the previous call (tracker_speicher.py, beschleunigung.py 7 and 8).

The states are checked against Rasa's own `Domain.states_for_tracker_history` on every story and rule of
chatbot/data (forms included), after every single event, for the three option sets the policies use.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from pathlib import Path

CHATBOT = Path(__file__).resolve().parent.parent


def _domain():
    from rasa.shared.core.domain import Domain

    return Domain.load(str(CHATBOT / "domain.yml"))


def _tracker(domain, *ereignisse, sender: str = "a"):
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events(sender, list(ereignisse), slots=domain.slots)


def _gespraech(domain, text: str = "ich brauche einen perso"):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    return [ActionExecuted("action_session_start"), ActionExecuted("action_listen"),
            UserUttered(text, {"name": "frage_leistung", "confidence": 0.9}),
            ActionExecuted("action_leistung_beantworten"), BotUttered("Antwort"), SlotSet("leistung_id", 7),
            ActionExecuted("action_listen")]


def _lauf(coro):
    return asyncio.run(coro)


def test_speicher_gibt_kopien_ein_fehlgeschlagener_zug_aendert_nichts() -> None:
    from rasa.shared.core.events import SlotSet, UserUttered
    from tracker_speicher import ObjektTrackerSpeicher

    domain = _domain()
    speicher = ObjektTrackerSpeicher(domain)
    t = _tracker(domain, *_gespraech(domain))
    _lauf(speicher.save(t))
    t.update(UserUttered("nach dem Speichern"))  # the caller's object is not the stored one
    a = _lauf(speicher.retrieve("a"))
    assert len(a.events) == 7 and a.get_slot("leistung_id") == 7
    # a turn that fails before `save`: its changes stay in its copy
    a.update(UserUttered("noch eine Frage"))
    a.update(SlotSet("leistung_id", 9))
    b = _lauf(speicher.retrieve("a"))
    assert len(b.events) == 7 and b.get_slot("leistung_id") == 7
    assert b.latest_message.text == "ich brauche einen perso"
    assert _lauf(speicher.retrieve("unbekannt")) is None
    assert list(_lauf(speicher.keys())) == ["a"]


def test_speicher_gibt_die_letzte_sitzung_und_auf_wunsch_alle() -> None:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from tracker_speicher import ObjektTrackerSpeicher

    domain = _domain()
    speicher = ObjektTrackerSpeicher(domain)
    t = _tracker(domain, *_gespraech(domain), ActionExecuted("action_session_start"),
                 ActionExecuted("action_listen"), UserUttered("neue Sitzung"))
    _lauf(speicher.save(t))
    letzte = _lauf(speicher.retrieve("a"))
    assert [e.text for e in letzte.events if isinstance(e, UserUttered)] == ["neue Sitzung"]
    assert letzte.get_slot("leistung_id") is None  # slots are not carried over
    assert len(_lauf(speicher.retrieve_full_tracker("a")).events) == len(t.events)


def test_speicher_vergisst_gespraeche_nach_der_aufbewahrungszeit() -> None:
    from tracker_speicher import ObjektTrackerSpeicher

    domain = _domain()
    jetzt = [1000.0]
    speicher = ObjektTrackerSpeicher(domain, aufbewahren_minuten=10, uhr=lambda: jetzt[0])
    _lauf(speicher.save(_tracker(domain, *_gespraech(domain), sender="alt")))
    jetzt[0] += 9 * 60
    _lauf(speicher.save(_tracker(domain, *_gespraech(domain), sender="neu")))
    jetzt[0] += 2 * 60  # "alt" idle for 11 minutes, "neu" for 2; the save below triggers the clean-up
    _lauf(speicher.save(_tracker(domain, *_gespraech(domain), sender="neu")))
    assert _lauf(speicher.retrieve("alt")) is None
    assert _lauf(speicher.retrieve("neu")) is not None
    jetzt[0] += 11 * 60
    assert speicher.aufraeumen() == 1
    assert list(_lauf(speicher.keys())) == []


def test_rasa_laedt_den_speicher_aus_endpoints_yml() -> None:
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config
    from tracker_speicher import ObjektTrackerSpeicher

    konfig = read_endpoint_config(str(CHATBOT / "endpoints.yml"), "tracker_store")
    speicher = TrackerStore.create(konfig, _domain())
    innen = getattr(speicher, "_tracker_store", speicher)  # Rasa may wrap it
    assert isinstance(innen, ObjektTrackerSpeicher)
    assert innen._aufbewahren_s == 1440 * 60  # noqa: SLF001


def test_aktionsaufruf_traegt_die_ereignisse_seit_der_letzten_nachricht() -> None:
    import beschleunigung
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.utils.endpoints import EndpointConfig

    beschleunigung.einsetzen()
    domain = _domain()
    t = _tracker(domain, *_gespraech(domain), UserUttered("wie ist der stand", {"name": "frage_status"}),
                 ActionExecuted("status_form"), SlotSet("ticketnummer", "115-2026-000123"))
    selektiv = EndpointConfig("http://127.0.0.1:5055/webhook", enable_selective_domain=True)
    aufruf = RemoteAction("action_leistung_beantworten", selektiv)._action_call_format(t, domain)  # noqa: SLF001
    assert [e["event"] for e in aufruf["tracker"]["events"]] == ["user", "action", "slot"]
    assert aufruf["tracker"]["latest_message"]["text"] == "wie ist der stand"
    assert aufruf["tracker"]["slots"]["leistung_id"] == 7 and aufruf["tracker"]["sender_id"] == "a"
    assert "domain" not in aufruf
    # the form validators still get the domain (domain.yml: send_domain), and without selective domain all do
    assert "forms" in RemoteAction("validate_status_form", selektiv)._action_call_format(t, domain)["domain"]  # noqa: SLF001
    ohne = EndpointConfig("http://127.0.0.1:5055/webhook")
    assert "domain" in RemoteAction("action_leistung_beantworten", ohne)._action_call_format(t, domain)  # noqa: SLF001
    # no user message yet: everything
    leer = _tracker(domain, ActionExecuted("action_session_start"), ActionExecuted("action_listen"))
    assert len(RemoteAction("action_begruessen", selektiv)._action_call_format(leer, domain)["tracker"]["events"]) == 2  # noqa: SLF001


def _trainingsgeschichten(domain):
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(CHATBOT / "domain.yml"), training_data_paths=[str(CHATBOT / "data")])
    return TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()


@contextlib.contextmanager
def _rasa_selbst():
    """Rasa's own applied_events and copy (the patched ones would otherwise be used inside Rasa's functions)."""
    import beschleunigung
    from rasa.shared.core.trackers import DialogueStateTracker

    gepatcht = DialogueStateTracker.applied_events, DialogueStateTracker.copy
    DialogueStateTracker.applied_events = beschleunigung._original_angewandt  # noqa: SLF001
    DialogueStateTracker.copy = beschleunigung._original_kopie  # noqa: SLF001
    try:
        yield
    finally:
        DialogueStateTracker.applied_events, DialogueStateTracker.copy = gepatcht


def test_fortgesetzte_zustaende_gleichen_rasas_zustaenden_nach_jedem_ereignis() -> None:
    import beschleunigung
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUtteranceReverted
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
    from tracker_speicher import kopieren

    beschleunigung.einsetzen()
    original = beschleunigung._original_zustaende  # noqa: SLF001
    assert original is not None and Domain.states_for_tracker_history is beschleunigung._zustaende  # noqa: SLF001
    domain = _domain()
    geschichten = _trainingsgeschichten(domain)
    assert len(geschichten) > 20 and any(g.is_rule_tracker for g in geschichten)
    regeldaten = {"rule_only_slots": [domain.slots[0].name], "rule_only_loops": ["status_form"]}
    optionen = [(False, False, None), (False, True, regeldaten), (True, True, regeldaten)]
    # each story once as it is, once with a fallback's undo in the middle (a cache that no longer fits)
    varianten = [list(g.events) for g in geschichten]
    varianten += [ev[: len(ev) // 2] + [UserUtteranceReverted()] + ev[len(ev) // 2:] for ev in varianten[:10]]
    verglichen = 0
    vorher = dict(beschleunigung._ZUSTAENDE_STATISTIK)  # noqa: SLF001
    for g, ereignisse in zip(geschichten + geschichten[:10], varianten, strict=True):
        lauf = DialogueStateTracker(g.sender_id, domain.slots, is_rule_tracker=g.is_rule_tracker)
        for i, e in enumerate(ereignisse):
            lauf.update(e)
            if i % 3 == 2:  # as the tracker store does between turns
                lauf = kopieren(lauf)
            neu = DialogueStateTracker.from_events(g.sender_id, ereignisse[: i + 1], slots=domain.slots)
            neu.is_rule_tracker = g.is_rule_tracker
            # as in the server, each call brings its own copy of the rule-only data
            gemerkt = [domain.states_for_tracker_history(lauf, *copy.deepcopy(o)) for o in optionen]
            angewandt, kopie = lauf.applied_events(), lauf.copy()
            with _rasa_selbst():
                assert angewandt == neu.applied_events()
                assert kopie.current_state(EventVerbosity.ALL) == neu.copy().current_state(EventVerbosity.ALL)
                for o, z in zip(optionen, gemerkt, strict=True):
                    assert z == original(domain, neu, *o), (g.sender_id, i, o)
            verglichen += len(optionen)
    statistik = {k: v - vorher[k] for k, v in beschleunigung._ZUSTAENDE_STATISTIK.items()}  # noqa: SLF001
    assert verglichen > 500 and statistik["fortgesetzt"] > 3 * statistik["neu"], (verglichen, statistik)


def test_zustaende_sind_kopien() -> None:
    import beschleunigung

    beschleunigung.einsetzen()
    domain = _domain()
    t = _tracker(domain, *_gespraech(domain))
    erste = domain.states_for_tracker_history(t)
    assert any("user" in z for z in erste)
    for z in erste:  # the featurizers edit states and sub-states in place
        for teil in z.values():
            teil.clear()
        z.clear()
    assert domain.states_for_tracker_history(t) == beschleunigung._original_zustaende(domain, t)  # noqa: SLF001



def test_vorhersagezustaende_der_ml_policies_wie_rasa() -> None:
    """15.: memoization's and TED's featurizer (MaxHistoryTrackerFeaturizer) copies only the states it keeps and
    still returns what Rasa returns, after every event of every story, for every option the policies use; a caller
    editing what it got changes nothing for the next call."""
    import beschleunigung
    from rasa.core.featurizers.single_state_featurizer import SingleStateFeaturizer
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.shared.core.constants import ACTION_UNLIKELY_INTENT_NAME
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from tracker_speicher import kopieren

    beschleunigung.einsetzen()
    original = beschleunigung._original_verlauf  # noqa: SLF001
    assert original is not None and MaxHistoryTrackerFeaturizer.prediction_states is beschleunigung._verlauf  # noqa: SLF001
    domain = _domain()
    geschichten = [g for g in _trainingsgeschichten(domain) if not g.is_rule_tracker]
    regeldaten = {"rule_only_slots": [domain.slots[0].name], "rule_only_loops": ["status_form"]}
    featurizer = [MaxHistoryTrackerFeaturizer(SingleStateFeaturizer(), max_history=n) for n in (3, 5)]
    optionen = [dict(use_text_for_last_user_input=t, ignore_rule_only_turns=True, rule_only_data=regeldaten,
                     ignore_action_unlikely_intent=True) for t in (False, True)]
    optionen.append(dict(use_text_for_last_user_input=False, ignore_rule_only_turns=False, rule_only_data=None,
                         ignore_action_unlikely_intent=False))
    varianten = [list(g.events) for g in geschichten]
    # action_unlikely_intent (UnexpecTED) turns are dropped before the last states are kept
    varianten += [[*ev[: len(ev) // 2], ActionExecuted(ACTION_UNLIKELY_INTENT_NAME), *ev[len(ev) // 2:]]
                  for ev in varianten[:8]]
    verglichen = 0
    for nr, ereignisse in enumerate(varianten):
        lauf = DialogueStateTracker(f"g{nr}", domain.slots)
        for i, e in enumerate(ereignisse):
            lauf.update(e)
            if i % 3 == 2:
                lauf = kopieren(lauf)
            neu = DialogueStateTracker.from_events(f"g{nr}", ereignisse[: i + 1], slots=domain.slots)
            for f in featurizer:
                for o in optionen:
                    gepatcht = f.prediction_states([lauf], domain, **copy.deepcopy(o))
                    for z in gepatcht[0]:  # the caller's to change: the next call must not see it
                        z.get("user", {}).clear()
                    nochmal = f.prediction_states([lauf], domain, **copy.deepcopy(o))
                    with _rasa_selbst():
                        gepatchte_zustaende = Domain.states_for_tracker_history
                        Domain.states_for_tracker_history = beschleunigung._original_zustaende  # noqa: SLF001
                        try:
                            erwartet = original(f, [neu], domain, **copy.deepcopy(o))
                        finally:
                            Domain.states_for_tracker_history = gepatchte_zustaende
                    assert nochmal == erwartet, (nr, i, f.max_history, o)
                    assert len(nochmal[0]) <= f.max_history
                    verglichen += 1
    assert verglichen > 400
    # a long conversation: still only max_history states, the last user turn as Rasa chooses it
    t = _tracker(domain, *_gespraech(domain), *_gespraech(domain, "und was kostet das"),
                 UserUttered("danke", {"name": "danke"}))
    z = featurizer[1].prediction_states([t], domain, use_text_for_last_user_input=True)[0]
    assert len(z) == 5 and z[-1]["user"] == {"text": "danke"}

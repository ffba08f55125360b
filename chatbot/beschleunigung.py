"""CPU savings for the Rasa server (Rasa 3.6.21, TensorFlow 2.12), applied when rest_kanal.py is imported, i.e. by
`rasa run --credentials credentials.yml`. Training and `rasa test` run Rasa unchanged.

Each patch replaces one Rasa method only where it still looks as measured (same module, same name); another Rasa
version keeps its own code and a warning is logged. Figures: py-spy on the Rasa server during bench/chat.py
(10 conversations, turns whose action searches the Wissensdatenbank).

1. Custom-action results are validated with a validator built once. `RemoteAction._validate_action_result` calls
   `jsonschema.validate`, which re-checks the large constant event schema against the metaschema on every action
   call: 33 ms CPU per custom action, 0.5 ms with the cached validator. Same schema, same ValidationError. An
   event is checked against the one alternative of the events' `oneOf` its name selects (each alternative is one
   event name, so no other can match); only a response that fails this goes through the full validator, which
   then gives Rasa's error.
2. Event classes are looked up by type name through a table. `Event.resolve_by_type` walks the whole class tree
   (`all_subclasses` with `inspect.isabstract` per class) for every event of every tracker the in-memory tracker
   store deserialises: every event of the conversation on every turn, 10 % of the server's CPU in a 40-turn
   conversation. The table gives the class the walk gives (first match, same order) and is rebuilt when a name is
   missing (a subclass imported later); unknown names behave as before.
3. DIET and TED predictions call their compiled TensorFlow graph directly. Rasa calls a `tf.function` with a fixed
   input signature; on every call TensorFlow 2.12 rebuilds a type for the inputs and for every captured model
   variable to look up the one concrete function that signature allows (`_maybe_define_function`: 17 % of the
   server's CPU, more than the graph execution itself). The first prediction goes through Rasa's own code and
   builds that graph; later ones convert the inputs to the signature's dtypes and call the concrete function. If
   the inputs do not fit the signature, that model goes back to Rasa's own path for good.
4. TED's predictions are remembered by their exact input. TED sees the conversation as the featurised states of
   its last turns (intents, actions, which slots are set, active loop), and the same few patterns recur in every
   conversation ("question -> answer -> follow-up"); the same input always gives the same output. Key: a hash
   of every input array with dtype and shape; 4096 entries; a hit returns a copy. DIET is not cached (its input
   is the citizen's text, rarely the same twice).
5. Calls to the action server reuse one HTTP session (keep-alive) per event loop and session settings. Rasa opened a new
   aiohttp session, and with it a new TCP connection, for every action call (5 % of the server's CPU).
6. After the first prediction of each model the objects then alive (the loaded model) are frozen out of the
   garbage collector's full runs (`gc.freeze`): a full collection walked ~720,000 objects in 320 ms.
7. A call to the action server carries the events since the citizen's latest message, not the whole conversation.
   Rasa sent every event of the conversation with every action call (`EventVerbosity.ALL`), growing with each
   turn: JSON encoding in Rasa and decoding in the action server, 4 % of the server's CPU in a 15-turn conversation.
   The actions of this project read the slots, the latest message, the active loop and the sender (sent whole, as
   before); of the events, rasa_sdk itself reads only the newest (the slot candidates a form validator checks
   come last, the latest input channel is in the latest user message). With no user message yet, all events go.
8. The dialogue states of a conversation are continued from the previous call instead of replayed from its first
   event. Every prediction (two or more per turn) lets each policy turn the whole conversation into states
   (`Domain.states_for_tracker_history`: replay every event into a fresh tracker, a state before each action),
   21 % of the server's CPU in a 15-turn conversation. The states, the replayed tracker and the loop's variables
   are kept per conversation and option set (the rule-only data by content: every policy gets a fresh copy of
   it), in a cache shared by the copies of a conversation's tracker (tracker_speicher.py); a call whose applied events start with the very event objects seen before replays only
   the new ones, the same call again (memoization and TED ask with the same options) only copies. Anything else
   (an undone event, a form that started over, another domain) is replayed from the start as before. Callers
   get fresh copies of the states (the featurizers edit them). Which events apply (Rasa's `applied_events`, a
   scan that looks back over the conversation for each form action) is continued the same way, for every caller
   of `DialogueStateTracker.applied_events` (e.g. the session-expiry check on every message: 5 % of the server's
   CPU), which gets its own list as before.
9. `DialogueStateTracker.copy` (before every action, so that a rejected action's events can be dropped) copies the
   tracker as the tracker store does instead of replaying every event into a new one.
10. The prediction graph (NLU pipeline, then the policies) is evaluated in order by a few lines instead of
    `dask.get`: the same graph and inputs, each node once, its inputs first. Dask's scheduling (ordering, task
    states, a queue) cost 10 % of the server's CPU for graphs of a dozen nodes run two or three times per turn.
11. TED's predictions are remembered by the dialogue states it featurises (when TED has no text features, as
    here, its input is a function of those states). A hit skips the featurisation and the model data, not only the
    model (4.); measured together with 10., the Rasa server's CPU per turn fell by a quarter to a third.
12. The rule lookup walks back only as many turns as the longest rule still in question: Rasa's
    `_get_possible_keys` tested every rule against every turn of the conversation, though a rule shorter than the
    turns looked at is applicable from then on and the set cannot change any more.
13. A message's sparse features (regex, lexical, word and character counts) are joined into DIET's input matrix
    in one step instead of one `scipy.sparse.hstack` per featurizer (each checks, converts and copies every block
    again): 11 % of the server's CPU. Same arrays, same dtypes.
14. The count-vector featurizers count a message's n-grams with scikit-learn's own analyzer and vocabulary and
    write the counts straight into the COO matrix Rasa keeps; scikit-learn built a CSR matrix with its checks,
    sorted it, and Rasa converted it (9 % of the server's CPU for the two vectorizers).
15. Memoization (3 states) and TED (5) get copies of only the states they keep, not of all states of the
    conversation (8. hands every caller fresh copies, since the featurizers change them).
16. Rasa deep-copies the arguments of its debug log calls (the states of every rule and memoization lookup, the
    events of every action) whether or not debug logging is on: in the three modules where that is the only use
    of `copy`, the copy is made only when the module's logger emits debug messages (3 % of the server's CPU).
In 3., the inputs become tensors through TensorFlow's eager conversion directly (12 instead of 28 µs per input).
Each patch can be switched off for fault-finding or measuring: CHATBOT_BESCHLEUNIGUNG_AUS="10,11" (numbers as
above; 3 also switches off 4 and 6).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import os
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)


def _abgeschaltet() -> set[str]:
    """Patch numbers switched off by the operator: CHATBOT_BESCHLEUNIGUNG_AUS="10,11" (to rule a patch out when
    looking for a fault, or to measure what it saves)."""
    return {t.strip() for t in os.environ.get("CHATBOT_BESCHLEUNIGUNG_AUS", "").split(",") if t.strip()}


def _ersetzen(klasse: type, name: str, modul: str, neu: Any, nr: int) -> Any:
    """Replaces klasse.name by neu (patch number nr) where the method still comes from `modul` (the Rasa code that
    was measured) and the patch is not switched off; returns the original function, or None (and a warning when it
    does not look as expected)."""
    if str(nr) in _abgeschaltet():
        log.info("beschleunigung: patch %s switched off (CHATBOT_BESCHLEUNIGUNG_AUS)", nr)
        return None
    original = getattr(klasse, name, None)
    if original is None or getattr(original, "__module__", "") != modul:
        log.warning("beschleunigung: %s.%s not as expected, left unchanged", klasse.__name__, name)
        return None
    setattr(klasse, name, neu)
    return original


# --- 1. action result validator ------------------------------------------------------------------------------

_validator: Any = None
_schnell: Any = None  # (validator of the response without the events' oneOf, {event name: validator}) or False


def _schnellpruefer(schema: dict[str, Any], klasse: Any) -> Any:
    """The events' `oneOf` names one event type per alternative (`"event": {"const": name}`): at most one
    alternative can match an event, the one of its name. So an event is valid when it fits the common part and
    that one alternative (jsonschema tries all ~20 alternatives per event). False if the schema is not so."""
    import copy

    try:
        eintrag = schema["properties"]["events"]["items"]
        varianten = eintrag["oneOf"]
        namen = [v["properties"]["event"]["const"] for v in varianten]
    except (KeyError, TypeError):
        return False
    if len(set(namen)) != len(namen) or not all(isinstance(n, str) for n in namen):
        return False
    gemeinsam = {k: v for k, v in eintrag.items() if k != "oneOf"}
    ohne_ereignisse = copy.deepcopy(schema)
    ohne_ereignisse["properties"]["events"]["items"] = gemeinsam
    return klasse(ohne_ereignisse), {n: klasse(v) for n, v in zip(namen, varianten, strict=True)}


def _gueltig_schnell(result: Any) -> bool:
    """True only where the full validator accepts too; False means: let the full validator decide."""
    if not _schnell:
        return False
    gesamt, je_name = _schnell
    if not gesamt.is_valid(result):
        return False
    for ereignis in result.get("events") or []:
        pruefer = je_name.get(ereignis.get("event")) if isinstance(ereignis, dict) else None
        if pruefer is None or not pruefer.is_valid(ereignis):
            return False
    return True


def _validieren(self: Any, result: dict[str, Any]) -> bool:
    global _validator, _schnell
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction

    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        klasse = validators.validator_for(schema)
        klasse.check_schema(schema)  # once, as jsonschema.validate does on every call
        _validator = klasse(schema)
        _schnell = _schnellpruefer(schema, klasse)
    if _gueltig_schnell(result):
        return True
    try:
        _validator.validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your response from the "
                      "Action endpoint is valid.")
        raise


# --- 2. event classes by type name ---------------------------------------------------------------------------

_ereignis_klassen: dict[str, type] = {}
_original_nach_typ: Any = None


def _nach_typ(type_name: str, default: type | None = None) -> type | None:
    global _ereignis_klassen
    klasse = _ereignis_klassen.get(type_name)
    if klasse is None:
        import rasa.shared.utils.common
        from rasa.shared.core.events import Event

        tabelle: dict[str, type] = {}
        for k in rasa.shared.utils.common.all_subclasses(Event):
            tabelle.setdefault(k.type_name, k)
        _ereignis_klassen = tabelle
        klasse = tabelle.get(type_name)
    if klasse is not None:
        return klasse
    return _original_nach_typ(type_name, default)


# --- 3. direct call of the compiled prediction graph ---------------------------------------------------------

_original_vorhersage: Any = None


def _vorhersagen(self: Any, batch_in: Any) -> Any:
    direkt = self.__dict__.get("_sc_direkt")
    if direkt is None:
        ausgabe = _original_vorhersage(self, batch_in)
        schritt = getattr(self, "_tf_predict_step", None)
        if "_sc_direkt" not in self.__dict__:
            self.__dict__["_sc_direkt"] = False
            if schritt is not None and not getattr(self, "_run_eagerly", False):
                try:
                    import tensorflow as tf

                    konkret = schritt.get_concrete_function()
                    specs = tf.nest.flatten(schritt.input_signature)
                    self.__dict__["_sc_direkt"] = (konkret, specs)
                    _einfrieren()
                except Exception:  # noqa: BLE001 - keep Rasa's own path
                    log.warning("beschleunigung: no concrete prediction function, Rasa's own path stays")
        return ausgabe
    if direkt is False:
        return _original_vorhersage(self, batch_in)
    import tensorflow as tf
    from keras.utils import tf_utils
    from rasa.shared.constants import DIAGNOSTIC_DATA
    from tensorflow.python.eager import context
    from tensorflow.python.framework.constant_op import convert_to_eager_tensor

    konkret, specs = direkt
    flach = tf.nest.flatten(batch_in)
    schluessel = _schluessel(flach) if _ist_ted(self) else None
    if schluessel is not None:  # before the inputs become tensors: a hit needs none
        gemerkt = _TED_ERGEBNISSE.get(schluessel)
        if gemerkt is not None:
            _TED_ERGEBNISSE.move_to_end(schluessel)
            _TED_STATISTIK["treffer"] += 1
            self._training = False
            return _kopie(gemerkt)
    try:
        if len(flach) != len(specs):
            raise ValueError(f"{len(flach)} inputs, signature has {len(specs)}")
        tensoren = []
        kontext = context.context()
        for wert, spec in zip(flach, specs, strict=True):
            # what tf.convert_to_tensor does for an array in eager mode, without its dispatch layers (12 instead
            # of 28 µs per input, and DIET has dozens)
            t = convert_to_eager_tensor(wert, kontext, spec.dtype)
            if not spec.shape.is_compatible_with(t.shape):
                raise ValueError(f"shape {t.shape} does not fit {spec.shape}")
            tensoren.append(t)
    except (ValueError, TypeError) as e:
        log.warning("beschleunigung: inputs do not fit the prediction signature (%s), Rasa's own path from now", e)
        self.__dict__["_sc_direkt"] = False
        return _original_vorhersage(self, batch_in)
    self._training = False
    ausgabe = tf_utils.sync_to_numpy_or_python_type(konkret._call_flat(tensoren, konkret.captured_inputs))
    if DIAGNOSTIC_DATA in ausgabe:
        ausgabe[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(ausgabe[DIAGNOSTIC_DATA])
    if schluessel is not None:
        _TED_STATISTIK["berechnet"] += 1
        _TED_ERGEBNISSE[schluessel] = _kopie(ausgabe)
        while len(_TED_ERGEBNISSE) > _TED_MAX:
            _TED_ERGEBNISSE.popitem(last=False)
    return ausgabe


def _einfrieren() -> None:
    """(6.) The loaded model lives as long as the server: its ~720,000 Python objects are moved out of the cyclic
    garbage collector's view once the first prediction has built the graph. A full collection walked them all:
    320 ms, a stall for every conversation in flight. Called after each model's first prediction (cheap)."""
    import gc

    gc.collect()
    gc.freeze()


# --- 4. TED predictions by input -------------------------------------------------------------------------------

_TED_ERGEBNISSE: OrderedDict[bytes, Any] = OrderedDict()
_TED_MAX = 4096
_TED_STATISTIK = {"treffer": 0, "berechnet": 0, "zustand_treffer": 0}


def _ist_ted(modell: Any) -> bool:
    klasse = type(modell)
    return klasse.__name__ == "TED" and klasse.__module__ == "rasa.core.policies.ted_policy"


def _schluessel(flach: list[Any]) -> bytes:
    import numpy as np

    h = hashlib.blake2b(digest_size=20)
    for wert in flach:
        a = np.ascontiguousarray(wert)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    return h.digest()


def _kopie(wert: Any) -> Any:
    import numpy as np

    if isinstance(wert, dict):
        return {k: _kopie(v) for k, v in wert.items()}
    if isinstance(wert, list):
        return [_kopie(v) for v in wert]
    if isinstance(wert, np.ndarray):
        return wert.copy()
    return wert


# --- 5. one HTTP session per endpoint and event loop ------------------------------------------------------------


class _GeteilteSitzung:
    """`async with endpoint.session() as s:` hands out the shared session and leaves it open."""

    def __init__(self, sitzung: Any) -> None:
        self._sitzung = sitzung

    async def __aenter__(self) -> Any:
        return self._sitzung

    async def __aexit__(self, *_: Any) -> bool:
        return False


_SITZUNGEN: dict[tuple[int, str, str], Any] = {}
_original_sitzung: Any = None


def _sitzung(self: Any) -> Any:
    try:
        schleife = asyncio.get_running_loop()
    except RuntimeError:  # outside a loop: Rasa's own (closing) session
        return _original_sitzung(self)
    # what the session itself is made of (URL, token and per-call headers go with each request)
    schluessel = (id(schleife), repr(self.headers), repr(self.basic_auth))
    sitzung = _SITZUNGEN.get(schluessel)
    if sitzung is None or sitzung.closed:
        sitzung = _original_sitzung(self)
        _SITZUNGEN[schluessel] = sitzung
    return _GeteilteSitzung(sitzung)


# --- 7. action calls with the events of the current turn ---------------------------------------------------------


def seit_letzter_nachricht(events: Any) -> list[Any]:
    """The events from the latest user message on (all of them when there is none)."""
    from rasa.shared.core.events import UserUttered

    liste = list(events)
    for i in range(len(liste) - 1, -1, -1):
        if isinstance(liste[i], UserUttered):
            return liste[i:]
    return liste


def _aktionsaufruf(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
    import rasa
    from rasa.shared.core.trackers import EventVerbosity

    zustand = tracker.current_state(EventVerbosity.NONE)
    zustand["events"] = [e.as_dict() for e in seit_letzter_nachricht(tracker.events)]
    ergebnis = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": zustand,
                "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        ergebnis["domain"] = domain.as_dict()
    return ergebnis


# --- 8. dialogue states continued from the previous call -----------------------------------------------------


_ZUSTAENDE_STATISTIK = {"fortgesetzt": 0, "neu": 0}


class _Zustaende:
    """States of the applied events `angewandt` (without the final state), the tracker they were replayed into,
    the loop's variables at that point and the final state ([] when hidden)."""

    __slots__ = ("domain", "angewandt", "wiedergabe", "zustaende", "letzte_ml", "verborgen", "ende")

    def __init__(self, **werte: Any) -> None:
        for k, v in werte.items():
            setattr(self, k, v)


def _zustaende_kopieren(zustaende: list[dict]) -> list[dict]:
    """Copies of the states with the same sharing of sub-states (the leaves are strings, numbers and tuples)."""
    kopien: dict[int, dict] = {}
    aus = []
    for z in zustaende:
        neu = {}
        for art, teil in z.items():
            k = kopien.get(id(teil))
            if k is None:
                k = kopien[id(teil)] = dict(teil)
            neu[art] = k
        aus.append(neu)
    return aus


def _cache(tracker: Any) -> dict:
    """The conversation's cache (shared by the copies of its tracker, tracker_speicher.kopieren)."""
    cache = tracker.__dict__.get("_sc_zustaende")
    if cache is None:
        cache = tracker.__dict__["_sc_zustaende"] = {}
    return cache


def _beginnt_mit(liste: list[Any], anfang: list[Any]) -> bool:
    """`liste` starts with the very objects of `anfang`."""
    return len(anfang) <= len(liste) and all(a is b for a, b in zip(anfang, liste, strict=False))


def angewandte_ereignisse(tracker: Any) -> list[Any]:
    """DialogueStateTracker.applied_events, continued from the previous call of the same conversation when its
    events start with the very events seen then and the set of loop names is the same (Rasa decides over the
    whole conversation which action events belong to a loop). Do not change the list returned."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )

    def namen(teil: list[Any]) -> frozenset[str]:
        return frozenset(e.name for e in teil if isinstance(e, ActiveLoop) and e.name)

    cache = _cache(tracker)
    ereignisse = list(tracker.events)
    alt = cache.get("angewandt")
    start, angewandt = 0, []
    if alt is not None and _beginnt_mit(ereignisse, alt[0]):
        # the loop names of the known beginning are the ones remembered: only the new events are looked at
        schleifen = alt[1] | namen(ereignisse[len(alt[0]):])
        if schleifen == alt[1]:
            start, angewandt = len(alt[0]), list(alt[2])
    else:
        schleifen = namen(ereignisse)
    for e in ereignisse[start:]:  # the loop of Rasa's applied_events
        if isinstance(e, (Restarted, SessionStarted)):
            angewandt = []
        elif isinstance(e, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, angewandt)
        elif isinstance(e, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, angewandt)
            tracker._undo_till_previous(ActionExecuted, angewandt)
        elif (isinstance(e, ActionExecuted) and e.action_name in schleifen
              and not tracker._first_loop_execution_or_unhappy_path(e.action_name, angewandt)):
            tracker._undo_till_previous_loop_execution(e.action_name, angewandt)
        else:
            angewandt.append(e)
    cache["angewandt"] = (ereignisse, schleifen, angewandt)
    return angewandt


def _inhalt(wert: Any) -> Any:
    """A hashable form of rule-only data ({"rule_only_slots": [...], "rule_only_loops": [...]})."""
    if isinstance(wert, dict):
        return tuple(sorted((k, _inhalt(v)) for k, v in wert.items()))
    if isinstance(wert, (list, tuple, set, frozenset)):
        return tuple(_inhalt(v) for v in wert)
    return wert


def _zustaende(self: Any, tracker: Any, omit_unset_slots: bool = False, ignore_rule_only_turns: bool = False,
               rule_only_data: dict[str, Any] | None = None) -> list[dict]:
    """Domain.states_for_tracker_history, the same loop over the same events, resumed where the cache ends."""
    return _zustaende_kopieren(_zustaende_gemerkt(self, tracker, omit_unset_slots, ignore_rule_only_turns,
                                                  rule_only_data))


def _zustaende_gemerkt(self: Any, tracker: Any, omit_unset_slots: bool, ignore_rule_only_turns: bool,
                       rule_only_data: dict[str, Any] | None) -> list[dict]:
    """The states of _zustaende as the cache holds them: a new list, but the state dicts are the cache's own and
    must not be changed (_zustaende hands out copies)."""
    from rasa.shared.core.constants import PREVIOUS_ACTION
    from rasa.shared.core.events import ActionExecuted
    from tracker_speicher import kopieren

    cache = _cache(tracker)
    # Rasa hands every policy a fresh copy of the rule-only data: the key is its content
    schluessel = (omit_unset_slots, ignore_rule_only_turns, _inhalt(rule_only_data))
    angewandt = angewandte_ereignisse(tracker)
    alt = cache.get(schluessel)
    if alt is not None and alt.domain is self and _beginnt_mit(angewandt, alt.angewandt):
        _ZUSTAENDE_STATISTIK["fortgesetzt"] += 1
        if len(alt.angewandt) == len(angewandt):
            return alt.zustaende + alt.ende
        wiedergabe, zustaende = kopieren(alt.wiedergabe), list(alt.zustaende)
        letzte_ml, verborgen, start = alt.letzte_ml, alt.verborgen, len(alt.angewandt)
    else:
        _ZUSTAENDE_STATISTIK["neu"] += 1
        wiedergabe, zustaende, letzte_ml, verborgen, start = tracker.init_copy(), [], None, False, 0

    def zustand(tr: Any, verbergen: bool, liste: list[dict]) -> dict | None:
        nonlocal letzte_ml, verborgen
        if ignore_rule_only_turns:
            if not verborgen:
                letzte_ml = self._get_prev_action_sub_state(tr)
            if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
                verborgen = verbergen
            if verborgen:
                return None
        z = self.get_active_state(tr, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            self._remove_rule_only_features(z, rule_only_data)
            if liste:
                self._substitute_rule_only_user_input(z, liste[-1])
            if letzte_ml:
                z[PREVIOUS_ACTION] = letzte_ml
        return self._clean_state(z)

    for ereignis in angewandt[start:]:
        if isinstance(ereignis, ActionExecuted):
            z = zustand(wiedergabe, ereignis.hide_rule_turn, zustaende)
            if z is not None:
                zustaende.append(z)
        wiedergabe.update(ereignis)
    neu = _Zustaende(domain=self, angewandt=angewandt, wiedergabe=wiedergabe, zustaende=zustaende,
                     letzte_ml=letzte_ml, verborgen=verborgen, ende=[])
    z = zustand(wiedergabe, False, zustaende)
    if z is not None:
        neu.ende = [z]
    cache[schluessel] = neu
    return zustaende + neu.ende



# --- 10. the prediction graph run in order, without dask ---------------------------------------------------------

_original_graphlauf: Any = None


def _graph_laufen(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict:
    """DaskGraphRunner.run: the same graph (Rasa's own `_build_dask_graph` and `_add_inputs_to_graph`), evaluated
    the way `dask.get` evaluates it: a task is a tuple whose first element is callable and is called with its
    arguments, an argument that names a graph key is replaced by that key's value (each key computed once), any
    other value is taken as it is (an input is the literal pair (name, value); a name nobody provides reaches the
    node as the bare string, which GraphNode reports as Rasa does)."""
    from rasa.engine.exceptions import GraphRunError

    ziele = targets if targets else self._graph_schema.target_names
    graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(ziele))
    if inputs:
        self._add_inputs_to_graph(inputs, graph)
    fertig: dict[str, Any] = {}

    def wert(name: str) -> Any:
        if name in fertig:
            return fertig[name]
        aufgabe = graph[name]
        if type(aufgabe) is tuple and aufgabe and callable(aufgabe[0]):
            argumente = [wert(a) if isinstance(a, str) and a in graph else a for a in aufgabe[1:]]
            ergebnis = aufgabe[0](*argumente)
        else:
            ergebnis = aufgabe
        fertig[name] = ergebnis
        return ergebnis

    try:
        return dict(wert(z) for z in ziele)
    except RuntimeError as e:  # as Rasa: dask's errors (a cycle, recursion) are RuntimeErrors
        raise GraphRunError("Error running runner.") from e


# --- 11. TED predictions by dialogue state -----------------------------------------------------------------------

_TED_ZUSTAENDE: OrderedDict[tuple, Any] = OrderedDict()
_original_ted: Any = None


def _gefroren(zustaende: list[dict]) -> tuple:
    """A hashable form of a list of dialogue states (sub-state values are strings, numbers and tuples)."""
    return tuple(tuple(sorted((art, tuple(sorted(teil.items()))) for art, teil in z.items())) for z in zustaende)


def _ted_vorhersage(self: Any, tracker: Any, domain: Any, rule_only_data: dict[str, Any] | None = None,
                    precomputations: Any = None, **kwargs: Any) -> Any:
    """TEDPolicy.predict_action_probabilities, remembered by the dialogue states TED featurises. Without text
    features (TED trained on intents and actions only, as here) its input is a function of those states alone, and
    the same input gives the same prediction; the states come from the conversation's state cache (8.), so a hit
    skips the featurisation, the model data and the model. With text features, or any other argument, Rasa's own
    path."""
    from rasa.shared.nlu.constants import TEXT

    if kwargs or self.model is None or TEXT in self.fake_features or self.only_e2e:
        return _original_ted(self, tracker, domain, rule_only_data=rule_only_data,
                             precomputations=precomputations, **kwargs)
    from rasa.core.policies.policy import SupportedData

    nur_ml = self.supported_data() == SupportedData.ML_DATA
    zustaende = self.featurizer.prediction_states(
        [tracker], domain, use_text_for_last_user_input=False, ignore_rule_only_turns=nur_ml,
        rule_only_data=rule_only_data, ignore_action_unlikely_intent=nur_ml)
    try:
        schluessel = (id(self.model), id(domain), _gefroren(zustaende[0]))
        hash(schluessel)
    except TypeError:  # a state value that is not hashable: not remembered
        return _original_ted(self, tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations)
    gemerkt = _TED_ZUSTAENDE.get(schluessel)
    if gemerkt is not None:
        _TED_ZUSTAENDE.move_to_end(schluessel)
        _TED_STATISTIK["zustand_treffer"] += 1
        return copy.deepcopy(gemerkt)
    vorhersage = _original_ted(self, tracker, domain, rule_only_data=rule_only_data,
                               precomputations=precomputations)
    _TED_ZUSTAENDE[schluessel] = copy.deepcopy(vorhersage)
    while len(_TED_ZUSTAENDE) > _TED_MAX:
        _TED_ZUSTAENDE.popitem(last=False)
    return vorhersage


# --- 12. rule lookup: only as many turns back as the longest rule still in question ----------------------------

_original_regelschluessel: Any = None


def _moegliche_regeln(self: Any, lookup: dict[str, str], states: list[dict]) -> set[str]:
    """RulePolicy._get_possible_keys: the rules whose states match the conversation's, turn by turn backwards.
    Rasa walks the whole conversation; a rule shorter than the turns looked at so far is applicable from then on
    (`_is_rule_applicable` returns True), so once every rule left is that short (or none is left) the set cannot
    change and the walk stops. The test per rule and turn is Rasa's own `_is_rule_applicable`."""
    moeglich = set(lookup.keys())
    laengen = self.__dict__.setdefault("_sc_regellaengen", {})  # rule key -> number of states (fixed per key)
    for k in moeglich:
        if k not in laengen:
            laengen[k] = len(self._rule_key_to_state(k))
    for i, zustand in enumerate(reversed(states)):
        if all(laengen[k] <= i for k in moeglich):  # also when none is left
            break
        moeglich = {k for k in moeglich if self._is_rule_applicable(k, i, zustand)}
    return moeglich

# --- 13. a message's sparse features joined in one step --------------------------------------------------------

_original_verbinden: Any = None


def _merkmale_verbinden(features: list[Any], featurizers: list[str]) -> Any:
    """Message._combine_features for sparse COO features (what the regex, lexical and count-vector featurizers
    give DIET): Rasa deep-copies the first and appends each further one with `scipy.sparse.hstack`, which checks,
    converts and copies every block again (11 % of the server's CPU for four featurizers, twice per message). Here
    the blocks are put side by side once, into the arrays `hstack` fills (block after block, the same data and
    index dtypes). Anything else (dense features, another sparse format, rows that do not match) goes to Rasa."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse._sputils import get_index_dtype, upcast

    if len(features) < 2 or any(type(f.features) is not coo_matrix for f in features):
        return _original_verbinden(features, featurizers)
    bloecke = [f.features for f in features]
    zeilen = bloecke[0].shape[0]
    if zeilen == 0 or any(b.shape[0] != zeilen or b.shape[1] == 0 for b in bloecke):
        return _original_verbinden(features, featurizers)
    form = (zeilen, sum(b.shape[1] for b in bloecke))
    index_typ = get_index_dtype(maxval=max(form))
    nnz = sum(b.nnz for b in bloecke)
    daten = np.empty(nnz, dtype=upcast(*(b.dtype for b in bloecke)))
    zeile = np.empty(nnz, dtype=index_typ)
    spalte = np.empty(nnz, dtype=index_typ)
    anfang = versatz = 0
    for b in bloecke:
        stueck = slice(anfang, anfang + b.nnz)
        daten[stueck] = b.data
        zeile[stueck] = b.row
        np.add(b.col, versatz, out=spalte[stueck], dtype=index_typ)
        anfang += b.nnz
        versatz += b.shape[1]
    erste = features[0]
    return type(erste)(coo_matrix((daten, (zeile, spalte)), shape=form), erste.type, erste.attribute, featurizers)


# --- 14. count vectors of one message without building a CSR matrix first ------------------------------------

_original_zaehlen: Any = None


def _zaehlmatrix(vektorisierer: Any, texte: list[str]) -> Any:
    """`vektorisierer.transform(texte)` after `sort_indices()` and `tocoo()`, as CountVectorsFeaturizer uses it:
    the same analyzer, vocabulary and counting (scikit-learn's `_count_vocab`), written straight into a COO
    matrix (rows in order, columns sorted within a row; int32 indices, the vectorizer's dtype)."""
    import numpy as np
    from scipy.sparse import coo_matrix

    analysieren = vektorisierer.build_analyzer()
    vokabular = vektorisierer.vocabulary_
    zeilen: list[int] = []
    spalten: list[int] = []
    werte: list[int] = []
    for i, text in enumerate(texte):
        zaehler: dict[int, int] = {}
        for merkmal in analysieren(text):
            j = vokabular.get(merkmal)
            if j is not None:
                zaehler[j] = zaehler.get(j, 0) + 1
        for j in sorted(zaehler):
            zeilen.append(i)
            spalten.append(j)
            werte.append(zaehler[j])
    daten = np.array(werte, dtype=np.intc).astype(vektorisierer.dtype)
    if vektorisierer.binary:
        daten.fill(1)
    return coo_matrix((daten, (np.array(zeilen, dtype=np.int32), np.array(spalten, dtype=np.int32))),
                      shape=(len(texte), len(vokabular)))


def _zaehlen(self: Any, attribute: str, all_tokens: list[list[str]]) -> tuple[list[Any], list[Any]]:
    """CountVectorsFeaturizer._create_features: the same sequence (one row per token) and sentence (the tokens
    joined by blanks) count matrices per message; scikit-learn built each as a CSR matrix with its checks, sorted
    it and converted it to COO (9 % of the server's CPU for the word and the character vectorizer). A vectorizer
    other than scikit-learn's CountVectorizer, or one not fitted, goes to Rasa."""
    from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
    from sklearn.feature_extraction.text import CountVectorizer

    vektorisierer = self.vectorizers.get(attribute)
    if (type(vektorisierer) is not CountVectorizer or not isinstance(getattr(vektorisierer, "vocabulary_", None), dict)
            or not vektorisierer.vocabulary_):
        return _original_zaehlen(self, attribute, all_tokens)
    folgen: list[Any] = []
    saetze: list[Any] = []
    for tokens in all_tokens:
        if not tokens:
            folgen.append(None)
            saetze.append(None)
            continue
        folgen.append(_zaehlmatrix(vektorisierer, tokens))
        saetze.append(_zaehlmatrix(vektorisierer, [" ".join(tokens)])
                      if attribute in DENSE_FEATURIZABLE_ATTRIBUTES else None)
    return folgen, saetze


# --- 15. memoization and TED copy only the states they look at -------------------------------------------------

_original_verlauf: Any = None


def _verlauf(self: Any, trackers: list[Any], domain: Any, use_text_for_last_user_input: bool = False,
             ignore_rule_only_turns: bool = False, rule_only_data: dict[str, Any] | None = None,
             ignore_action_unlikely_intent: bool = False) -> list[list[dict]]:
    """MaxHistoryTrackerFeaturizer.prediction_states: Rasa takes all states of the conversation (a fresh copy of
    each, 8.), drops `action_unlikely_intent` turns and keeps the last `max_history`; only those are then changed
    (`_choose_last_user_input`). Here the cached states are filtered and sliced first and only the slice is copied:
    memoization looks at 3 states, TED at 5, of a conversation's dozens. Another featurizer class, no
    `max_history`, or a tracker or domain with its own state code goes to Rasa."""
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.shared.core.trackers import DialogueStateTracker

    if (type(self) is not MaxHistoryTrackerFeaturizer or not self.max_history
            or type(domain).states_for_tracker_history is not _zustaende
            or any(type(t).past_states is not DialogueStateTracker.past_states for t in trackers)):
        return _original_verlauf(self, trackers, domain, use_text_for_last_user_input=use_text_for_last_user_input,
                                 ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data,
                                 ignore_action_unlikely_intent=ignore_action_unlikely_intent)
    alle = []
    for tracker in trackers:
        zustaende = _zustaende_gemerkt(domain, tracker, False, ignore_rule_only_turns, rule_only_data)
        if ignore_action_unlikely_intent:
            zustaende = self._remove_action_unlikely_intent_from_states(zustaende)
        alle.append(_zustaende_kopieren(self.slice_state_history(zustaende, self.max_history)))
    self._choose_last_user_input(alle, use_text_for_last_user_input)
    return alle


# --- 16. the arguments of debug log calls are copied only when debug logging is on ---------------------------

_NUR_LOG_KOPIEN = ("rasa.core.processor", "rasa.core.policies.rule_policy", "rasa.core.policies.memoization")


class _KopieFuerDebugLog:
    """Stands in for the `copy` module inside a Rasa module whose only use of it is `copy.deepcopy(...)` as an
    argument of `structlogger.debug(...)`: the deep copy (a snapshot for the log) is made only when that module's
    logger would emit debug messages; otherwise the log call drops the value anyway (structlog's
    `filter_by_level`, which Rasa configures, asks the same logger)."""

    def __init__(self, modulname: str) -> None:
        self._log = logging.getLogger(modulname)

    def deepcopy(self, wert: Any, memo: Any = None) -> Any:
        if self._log.isEnabledFor(logging.DEBUG):
            return copy.deepcopy(wert, memo)
        return wert

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _nur_log_kopien(quelltext: str) -> bool:
    """Every use of `copy` in the module is `copy.deepcopy(` inside a `structlogger.debug(` call (checked on the
    source: the call starts at most six lines above and is still open)."""
    import re

    zeilen = quelltext.splitlines()
    gefunden = 0
    for i, zeile in enumerate(zeilen):
        for treffer in re.finditer(r"\bcopy\.(\w+)", zeile):
            if treffer.group(1) != "deepcopy":
                return False
            davor = "\n".join(zeilen[max(0, i - 6): i] + [zeile[: treffer.start()]])
            aufruf = davor.rfind("structlogger.debug(")
            if aufruf < 0 or davor[aufruf:].count("(") - davor[aufruf:].count(")") < 1:
                return False
            gefunden += 1
    return gefunden > 0


def _log_kopien_einsetzen() -> list[str]:
    """Patch 16 in each module of _NUR_LOG_KOPIEN whose source still looks as measured; returns their names."""
    import importlib
    import inspect

    if "16" in _abgeschaltet():
        log.info("beschleunigung: patch 16 switched off (CHATBOT_BESCHLEUNIGUNG_AUS)")
        return []
    ersetzt = []
    for name in _NUR_LOG_KOPIEN:
        modul = importlib.import_module(name)
        if getattr(modul, "copy", None) is not copy or not _nur_log_kopien(inspect.getsource(modul)):
            log.warning("beschleunigung: %s uses copy otherwise, left unchanged", name)
            continue
        modul.copy = _KopieFuerDebugLog(name)
        ersetzt.append(name)
    return ersetzt


_original_zustaende: Any = None
_original_angewandt: Any = None
_original_kopie: Any = None


def _angewandt(self: Any) -> list[Any]:
    return list(angewandte_ereignisse(self))  # a list of its own for the caller, as Rasa's


def _tracker_kopie(self: Any) -> Any:
    from tracker_speicher import kopieren

    return kopieren(self)


_eingesetzt = False


def einsetzen() -> None:
    """Apply all patches (idempotent)."""
    global _eingesetzt, _original_nach_typ, _original_vorhersage, _original_sitzung, _original_zustaende
    global _original_angewandt, _original_kopie, _original_graphlauf, _original_ted, _original_regelschluessel
    global _original_verbinden, _original_zaehlen, _original_verlauf
    if _eingesetzt:
        return
    _eingesetzt = True
    from rasa.core.actions.action import RemoteAction
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.training_data.message import Message
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.tensorflow.models import RasaModel

    _ersetzen(RemoteAction, "_validate_action_result", "rasa.core.actions.action", _validieren, nr=1)
    _original_nach_typ = _ersetzen(Event, "resolve_by_type", "rasa.shared.core.events", staticmethod(_nach_typ),
                                   nr=2)
    _original_vorhersage = _ersetzen(RasaModel, "_rasa_predict", "rasa.utils.tensorflow.models", _vorhersagen, nr=3)
    _original_sitzung = _ersetzen(EndpointConfig, "session", "rasa.utils.endpoints", _sitzung, nr=5)
    _ersetzen(RemoteAction, "_action_call_format", "rasa.core.actions.action", _aktionsaufruf, nr=7)
    _original_zustaende = _ersetzen(Domain, "states_for_tracker_history", "rasa.shared.core.domain", _zustaende,
                                    nr=8)
    _original_angewandt = _ersetzen(DialogueStateTracker, "applied_events", "rasa.shared.core.trackers", _angewandt,
                                    nr=8)
    _original_kopie = _ersetzen(DialogueStateTracker, "copy", "rasa.shared.core.trackers", _tracker_kopie, nr=9)
    _original_graphlauf = _ersetzen(DaskGraphRunner, "run", "rasa.engine.runner.dask", _graph_laufen, nr=10)
    _original_ted = _ersetzen(TEDPolicy, "predict_action_probabilities", "rasa.core.policies.ted_policy",
                              _ted_vorhersage, nr=11)
    _original_regelschluessel = _ersetzen(RulePolicy, "_get_possible_keys", "rasa.core.policies.rule_policy",
                                          _moegliche_regeln, nr=12)
    _original_verbinden = _ersetzen(Message, "_combine_features", "rasa.shared.nlu.training_data.message",
                                    staticmethod(_merkmale_verbinden), nr=13)
    _original_zaehlen = _ersetzen(CountVectorsFeaturizer, "_create_features",
                                  "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer", _zaehlen, nr=14)
    _original_verlauf = _ersetzen(MaxHistoryTrackerFeaturizer, "prediction_states",
                                  "rasa.core.featurizers.tracker_featurizers", _verlauf, nr=15)
    _log_kopien_einsetzen()

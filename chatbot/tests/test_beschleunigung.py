"""The CPU savings of beschleunigung.py change nothing the bot computes.

The trained model (models/servicecenter.tar.gz; `make rasa-test` trains it first) answers the same messages once
with Rasa's own code and once patched: the same intent rankings (DIET) and the same next-action predictions with
the same probabilities (TED, memoization, rules), in one process, first unpatched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

MODELL = Path(__file__).resolve().parent.parent / "models" / "servicecenter.tar.gz"

NACHRICHTEN = [
    "hallo",
    "ich brauch nen neuen perso",
    "was kostet das",
    "welche unterlagen brauche ich dafür",
    "wo muss ich da hin",
    "kann ich das online machen",
    "hier liegt seit wochen sperrmüll auf dem gehweg",
    "wie ist der stand von 115-2026-000123",
    "asdf qwertz",
    "ich will mit einem menschen sprechen",
    "bist du ein bot",
    "danke, tschüss",
]


def _rechnen(agent) -> list[tuple]:
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    ergebnis = []

    async def lauf() -> None:
        for text in NACHRICHTEN:
            nlu = await agent.parse_message(text)
            ranking = tuple((i["name"], round(i["confidence"], 6)) for i in nlu["intent_ranking"])
            # next action after this message at the start of a conversation, from all policies
            tracker = DialogueStateTracker.from_events(
                "gleich", [UserUttered(text, nlu["intent"], nlu["entities"], parse_data=nlu)],
                slots=agent.domain.slots)
            vorhersage = agent.processor._predict_next_with_tracker(tracker)  # noqa: SLF001
            gewinner = (vorhersage.policy_name, _runden(vorhersage.probabilities))
            ted = [_runden(p.predict_action_probabilities(tracker, agent.domain).probabilities)
                   for p in _teile(agent, "TEDPolicy")]
            assert ted, "TED policy not found in the model"
            ergebnis.append((text, ranking, gewinner, ted))

    asyncio.run(lauf())
    return ergebnis


@pytest.mark.skipif(not MODELL.exists(), reason="no trained model (make rasa-modell)")
def test_gepatcht_rechnet_der_bot_genau_dasselbe() -> None:
    import beschleunigung
    from rasa.core.agent import load_agent

    agent = asyncio.run(load_agent(model_path=str(MODELL)))
    vorher = _rechnen(agent)
    beschleunigung.einsetzen()
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.utils.tensorflow.models import RasaModel

    assert RasaModel._rasa_predict is beschleunigung._vorhersagen
    assert DaskGraphRunner.run is beschleunigung._graph_laufen  # NLU and policies below run without dask
    assert TEDPolicy.predict_action_probabilities is beschleunigung._ted_vorhersage
    nachher = _rechnen(agent)  # first call per model still Rasa's path, so compute twice
    berechnet = beschleunigung._TED_STATISTIK["berechnet"]
    zustand_treffer = beschleunigung._TED_STATISTIK["zustand_treffer"]
    nochmal = _rechnen(agent)  # same states again: TED answers from its cache, the model is not asked
    assert nachher == vorher
    assert nochmal == vorher
    assert beschleunigung._TED_STATISTIK["berechnet"] == berechnet
    # TED asked directly answers from the state cache (the graph's nodes took TED's method when the model was
    # loaded, before the patch here: the ensemble path is checked in test_graphlauf_ohne_dask_wie_mit_dask)
    assert beschleunigung._TED_STATISTIK["zustand_treffer"] - zustand_treffer >= len(NACHRICHTEN)
    modelle = [m for m in _modelle(agent)]
    assert modelle and all(isinstance(m.__dict__.get("_sc_direkt"), tuple) for m in modelle)


def _runden(werte) -> tuple[float, ...]:
    return tuple(round(float(p), 6) for p in (werte or []))


def _teile(agent, klassenname: str | None = None):
    """The components (DIET, TED, ...) inside the loaded graph."""
    for knoten in agent.processor.graph_runner._instantiated_nodes.values():  # noqa: SLF001
        teil = getattr(knoten, "_component", None)
        if teil is not None and (klassenname is None or type(teil).__name__ == klassenname):
            yield teil


def _modelle(agent):
    """The TensorFlow models (DIET, TED) inside the loaded graph."""
    from rasa.utils.tensorflow.models import RasaModel

    for teil in _teile(agent):
        modell = getattr(teil, "model", None)
        if isinstance(modell, RasaModel):
            yield modell


def test_ereignis_tabelle_gibt_dieselben_klassen_wie_rasa() -> None:
    import beschleunigung
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    beschleunigung.einsetzen()
    namen = {k.type_name for k in rasa.shared.utils.common.all_subclasses(Event)}
    for name in namen:
        erwartet = next(k for k in rasa.shared.utils.common.all_subclasses(Event) if k.type_name == name)
        assert Event.resolve_by_type(name) is erwartet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("gibt-es-nicht")


def test_validator_lehnt_kaputte_aktionsantwort_weiter_ab() -> None:
    import beschleunigung
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    beschleunigung.einsetzen()
    aktion = RemoteAction("action_x", None)
    assert aktion._validate_action_result({"events": [], "responses": []})  # noqa: SLF001
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        aktion._validate_action_result({"events": [{"event": 42}], "responses": []})  # noqa: SLF001


def test_aktionsaufrufe_teilen_eine_http_sitzung() -> None:
    import beschleunigung
    from rasa.utils.endpoints import EndpointConfig

    beschleunigung.einsetzen()
    a = EndpointConfig("http://127.0.0.1:5055/webhook")
    b = EndpointConfig("http://127.0.0.1:5056/webhook")
    c = EndpointConfig("http://127.0.0.1:5055/webhook", headers={"X-Test": "1"})

    async def lauf():
        async with a.session() as s1:
            pass
        async with a.session() as s2, b.session() as s3, c.session() as s4:
            assert s1 is s2 is s3  # same settings: one session, left open after the block
            assert s4 is not s1  # other session headers: another session
        assert not s1.closed
        await s1.close()
        async with a.session() as s5:
            assert s5 is not s1 and not s5.closed  # a closed one is replaced
        await s5.close()
        await s4.close()

    asyncio.run(lauf())


def test_schnelle_pruefung_der_aktionsantwort_urteilt_wie_jsonschema() -> None:
    import beschleunigung
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        AllSlotsReset,
        BotUttered,
        ConversationPaused,
        ConversationResumed,
        FollowupAction,
        Restarted,
        SlotSet,
        UserUttered,
    )

    beschleunigung.einsetzen()
    aktion = RemoteAction("action_x", None)
    assert aktion._validate_action_result({"events": [], "responses": []})  # noqa: SLF001 - builds the validators
    assert beschleunigung._schnell, "the event schema no longer has one alternative per event name"  # noqa: SLF001
    gueltige = [e.as_dict() for e in (
        SlotSet("leistung_id", 7), SlotSet("x", None), FollowupAction("action_listen"), ActionExecuted("utter_x"),
        BotUttered("Hallo", {"buttons": [{"title": "a", "payload": "/b"}]}), UserUttered("hallo", {"name": "gruss"}),
        AllSlotsReset(), ConversationPaused(), ConversationResumed(), ActiveLoop("status_form"), ActiveLoop(None),
        Restarted())]
    kaputte = [{"event": "gibt_es_nicht"}, {"event": 42}, {"name": "x"}, {"event": "slot", "name": 5, "value": 1},
               {"event": "followup", "name": None}, {"event": "slot", "timestamp": "gestern", "name": "x"}, "slot", None]
    antworten = [{"events": [e], "responses": []} for e in gueltige + kaputte]
    antworten += [{"events": gueltige, "responses": [{"text": "t", "buttons": []}]}, {"events": "slot"},
                  {"events": gueltige + kaputte[:1]}, {"responses": [{"text": 5}]}, {}]
    for antwort in antworten:
        erwartet = beschleunigung._validator.is_valid(antwort)  # noqa: SLF001
        assert beschleunigung._gueltig_schnell(antwort) == erwartet, antwort  # noqa: SLF001
    assert sum(beschleunigung._validator.is_valid(a) for a in antworten) >= len(gueltige)  # noqa: SLF001


@pytest.mark.skipif(not MODELL.exists(), reason="no trained model (make rasa-modell)")
def test_graphlauf_ohne_dask_wie_mit_dask() -> None:
    """The graph evaluated in order gives what dask gives, and fails where dask fails."""
    import beschleunigung
    from rasa.core.agent import load_agent
    from rasa.engine.exceptions import GraphComponentException, GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    beschleunigung.einsetzen()
    agent = asyncio.run(load_agent(model_path=str(MODELL)))
    laeufer = agent.processor.graph_runner
    original = beschleunigung._original_graphlauf
    assert original is not None and DaskGraphRunner.run is beschleunigung._graph_laufen

    def vergleichbar(wert):
        if isinstance(wert, list):
            return [vergleichbar(w) for w in wert]
        if isinstance(getattr(wert, "data", None), dict):  # an NLU message: its parse result
            return repr(sorted((k, v) for k, v in wert.data.items() if k not in ("text_tokens", "tokens")))
        if hasattr(wert, "probabilities"):  # a policy prediction
            return wert.policy_name, _runden(wert.probabilities)
        return repr(wert)

    def ergebnis(lauf, **argumente):
        return {k: vergleichbar(v) for k, v in lauf(laeufer, **argumente).items()}

    from rasa.core.channels.channel import UserMessage

    nachricht = {"__message__": [UserMessage("was kostet ein personalausweis")]}
    ziele = ["run_RegexMessageHandler"]
    assert ergebnis(beschleunigung._graph_laufen, inputs=nachricht, targets=ziele) == ergebnis(
        original, inputs=nachricht, targets=ziele)
    tracker = DialogueStateTracker.from_events("g", [UserUttered("hallo", {"name": "greet", "confidence": 1.0})],
                                               slots=agent.domain.slots)
    vorhersage = {"__tracker__": tracker}
    treffer = beschleunigung._TED_STATISTIK["zustand_treffer"]
    assert ergebnis(beschleunigung._graph_laufen, inputs=vorhersage, targets=["select_prediction"]) == ergebnis(
        original, inputs=vorhersage, targets=["select_prediction"])
    # patched before the model was loaded (as in `rasa run`): TED inside the graph answers the second time
    # from the state cache
    assert beschleunigung._TED_STATISTIK["zustand_treffer"] == treffer + 1
    # an input nobody gives: the node reports it missing, with and without dask
    for lauf in (original, beschleunigung._graph_laufen):
        with pytest.raises((GraphRunError, GraphComponentException)):
            lauf(laeufer, inputs={}, targets=["select_prediction"])
    # an input named like a node is refused (Rasa's own check)
    with pytest.raises(GraphRunError):
        beschleunigung._graph_laufen(laeufer, inputs={"x": "domain_provider"}, targets=["select_prediction"])


@pytest.mark.skipif(not MODELL.exists(), reason="no trained model (make rasa-modell)")
def test_regelsuche_findet_dieselben_regeln_wie_rasa() -> None:
    """The shortened rule lookup (12.) gives Rasa's set of rules for conversations made of the learned rules' own
    states: each rule alone, pairs of rules one after the other (histories longer than any rule), with the
    previous action changed."""
    import json
    import random

    import beschleunigung
    from rasa.core.agent import load_agent

    beschleunigung.einsetzen()
    agent = asyncio.run(load_agent(model_path=str(MODELL)))
    regeln = next(_teile(agent, "RulePolicy"))
    original = beschleunigung._original_regelschluessel
    assert original is not None
    schluessel = sorted(regeln.lookup["rules"])
    assert len(schluessel) > 10

    def zustaende(k: str) -> list[dict]:  # as the tracker gives them: tuples, not lists
        return [{art: {f: tuple(w) if isinstance(w, list) else w for f, w in teil.items()}
                 for art, teil in z.items()} for z in json.loads(k)]

    zufall = random.Random(115)
    faelle = [zustaende(k) for k in schluessel]
    faelle += [zustaende(a) + zustaende(b) for a, b in (zufall.sample(schluessel, 2) for _ in range(200))]
    for f in list(faelle[:50]):
        geaendert = [dict(z) for z in f]
        geaendert[-1] = {**geaendert[-1], "prev_action": {"action_name": "action_listen"}}
        faelle.append(geaendert)
    gefunden = 0
    for f in faelle:
        erwartet = original(regeln, regeln.lookup["rules"], f)
        assert beschleunigung._moegliche_regeln(regeln, regeln.lookup["rules"], f) == erwartet
        gefunden += bool(erwartet)
    assert gefunden > len(schluessel) // 2  # the cases do match rules, not only the empty set


def _coo_gleich(a, b) -> bool:
    """Two sparse matrices (or Features holding them) with the same format, shape, dtypes and arrays."""
    import numpy as np

    if a is None or b is None:
        return a is b
    if hasattr(a, "features"):
        if (a.type, a.attribute, a.origin) != (b.type, b.attribute, b.origin):
            return False
        a, b = a.features, b.features
    return (type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype and a.row.dtype == b.row.dtype
            and a.col.dtype == b.col.dtype and np.array_equal(a.data, b.data) and np.array_equal(a.row, b.row)
            and np.array_equal(a.col, b.col))


def _nlu_beispiele() -> list[str]:
    """The NLU examples of data/nlu.yml (entity markup removed) and the test messages."""
    import re

    import yaml

    daten = yaml.safe_load((MODELL.parent.parent / "data" / "nlu.yml").read_text(encoding="utf-8"))
    texte = list(NACHRICHTEN)
    for eintrag in daten["nlu"]:
        for zeile in (eintrag.get("examples") or "").splitlines():
            if zeile.strip().startswith("- "):
                texte.append(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", zeile.strip()[2:]))
    return texte


@pytest.mark.skipif(not MODELL.exists(), reason="no trained model (make rasa-modell)")
def test_zaehlmatrizen_und_verbundene_merkmale_wie_rasa() -> None:
    """14. gives the count vectorizers' matrices scikit-learn gives, and 13. joins a message's sparse features
    into the matrix scipy's hstack builds, for every NLU example run through the model's own tokenizer and
    featurizers."""
    import beschleunigung
    from rasa.core.agent import load_agent
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    beschleunigung.einsetzen()
    agent = asyncio.run(load_agent(model_path=str(MODELL)))
    assert beschleunigung._original_zaehlen is not None and beschleunigung._original_verbinden is not None
    tokenizer = next(_teile(agent, "DeutscherTokenizer"))
    vorne = [next(_teile(agent, n)) for n in ("RegexFeaturizer", "LexicalSyntacticFeaturizer")]
    zaehler = list(_teile(agent, "CountVectorsFeaturizer"))
    assert len(zaehler) == 2
    texte = _nlu_beispiele()
    assert len(texte) > 500
    for text in texte:
        m = Message(data={TEXT: text})
        tokenizer.process([m])
        for f in vorne:
            f.process([m])
        for z in zaehler:
            tokens = z._get_processed_message_tokens_by_attribute(m, TEXT)
            neu, alt = beschleunigung._zaehlen(z, TEXT, [tokens]), beschleunigung._original_zaehlen(z, TEXT, [tokens])
            assert all(_coo_gleich(a, b) for a, b in zip(neu[0] + neu[1], alt[0] + alt[1], strict=True)), text
            z.process([m])
        folge, satz = m._filter_sparse_features(TEXT, [])
        assert len(folge) == 4 and len(satz) == 3  # lexical features only per token
        for merkmale in (folge, satz):
            assert _coo_gleich(beschleunigung._merkmale_verbinden(merkmale, []),
                               beschleunigung._original_verbinden(merkmale, [])), text


def test_verbundene_merkmale_wie_hstack_bei_gemischten_typen_und_fehlern() -> None:
    """13. with mixed dtypes and widths; rows that do not match fail as in Rasa; dense or single features take
    Rasa's path."""
    import beschleunigung
    import numpy as np
    import scipy.sparse
    from rasa.shared.nlu.training_data.features import Features

    beschleunigung.einsetzen()
    zufall = np.random.default_rng(115)

    def merkmal(zeilen: int, spalten: int, typ) -> Features:
        m = scipy.sparse.random(zeilen, spalten, density=0.3, format="coo", dtype=np.float64, random_state=zufall)
        m = scipy.sparse.coo_matrix((m.data.astype(typ) * 7, (m.row, m.col)), shape=m.shape)
        return Features(m, "sequence", "text", "x")

    for typen in ([np.int64, np.int64], [np.int64, np.float32, np.int64], [np.float32, np.float64, np.int32, np.int64]):
        merkmale = [merkmal(5, int(zufall.integers(1, 40)), t) for t in typen]
        assert _coo_gleich(beschleunigung._merkmale_verbinden(merkmale, ["a"]),
                           beschleunigung._original_verbinden(merkmale, ["a"]))
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        beschleunigung._merkmale_verbinden([merkmal(3, 4, np.int64), merkmal(4, 4, np.int64)], [])
    dicht = [Features(np.ones((2, 3)), "sentence", "text", "d"), Features(np.zeros((2, 2)), "sentence", "text", "e")]
    assert beschleunigung._merkmale_verbinden(dicht, []).features.shape == (2, 5)
    einzeln = merkmal(2, 3, np.int64)
    kopie = beschleunigung._merkmale_verbinden([einzeln], ["z"])
    assert kopie is not einzeln and kopie.origin == ["z"] and _coo_gleich(kopie.features, einzeln.features)


def test_debug_log_kopien_nur_bei_debug_logging() -> None:
    """16.: in Rasa's processor, rule policy and memoization `copy` is only used for snapshots of debug log
    arguments; the snapshot is taken only when that module logs at debug level, and any other use of `copy` in a
    module leaves it unpatched."""
    import copy
    import logging

    import beschleunigung
    import rasa.core.policies.memoization as memoization
    import rasa.core.policies.rule_policy as rule_policy
    import rasa.core.processor as processor

    beschleunigung.einsetzen()
    for modul in (processor, rule_policy, memoization):
        assert isinstance(modul.copy, beschleunigung._KopieFuerDebugLog), modul.__name__
    wert = [{"user": {"intent": "frage_leistung"}}]
    logger = logging.getLogger("rasa.core.processor")
    stufe = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert processor.copy.deepcopy(wert) is wert
        logger.setLevel(logging.DEBUG)
        kopie = processor.copy.deepcopy(wert)
        assert kopie == wert and kopie is not wert and kopie[0] is not wert[0]
    finally:
        logger.setLevel(stufe)
    assert processor.copy.copy is copy.copy  # everything else is the copy module's
    # the source check
    assert beschleunigung._nur_log_kopien('structlogger.debug(\n    "x",\n    a=len(b),\n    c=copy.deepcopy(d),\n)\n')
    assert not beschleunigung._nur_log_kopien("x = copy.deepcopy(d)\n")
    assert not beschleunigung._nur_log_kopien('structlogger.debug("x", a=1)\ny = copy.deepcopy(d)\n')
    assert not beschleunigung._nur_log_kopien('structlogger.debug("x", a=copy.copy(d))\n')
    assert not beschleunigung._nur_log_kopien("import copy\n")

"""Messages made only of words the training data never contained get no intent (-> nlu_fallback).

DIET always spreads a confidence of 1 over the known intents, also for keyboard mashing: "fjdksla ölkjh" came out as
greet with 0.88, "kjhgf" as goodbye with 0.87. A message in which no word is known (by stem, or by at least 70 %
of its character trigrams, so typos of known words still count) carries nothing the model learned from; this
component then sets the confidence of every intent to 0, and the FallbackClassifier after it turns the message
into nlu_fallback. Tokens with digits (ticket numbers, access codes) always count as known; words of up to
3 letters only as written ("äh" would otherwise be the known stem "ah" of "ah super danke").
Measured on the held-out examples (tests/nlu_test.yml): with 70 % only "xyzzy" is unknown; of 15 strings of
keyboard mashing, 12 are unknown (the others resemble training words: "asdfgh", "jkdsfh", "wert").
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DATEI = "wortschatz.json"


def trigramme(wort: str) -> set[str]:
    w = f"<{wort.lower()}>"
    return {w[i: i + 3] for i in range(len(w) - 2)}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnbekannteWoerter(GraphComponent):
    """Zeroes the intent confidences of a message that contains no known word."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"trigramm_anteil": 0.7}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 stämme: set[str] | None = None, tris: set[str] | None = None,
                 wörter: set[str] | None = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self.stämme = stämme or set()
        self.tris = tris or set()
        self.wörter = wörter or set()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnbekannteWoerter:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> UnbekannteWoerter:
        try:
            with model_storage.read_from(resource) as ordner:
                daten = json.loads((ordner / DATEI).read_text(encoding="utf-8"))
            return cls(config, model_storage, resource, set(daten["staemme"]), set(daten["trigramme"]),
                       set(daten["woerter"]))
        except ValueError:
            return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        for m in training_data.intent_examples:
            for t in m.get(TOKENS_NAMES[TEXT]) or []:
                self.stämme.add(t.lemma)
                self.wörter.add(t.text.lower())
                self.tris |= trigramme(t.text)
        with self._storage.write_to(self._resource) as ordner:
            (ordner / DATEI).write_text(
                json.dumps({"staemme": sorted(self.stämme), "trigramme": sorted(self.tris),
                            "woerter": sorted(self.wörter)}, ensure_ascii=False),
                encoding="utf-8")
        return self._resource

    def bekannt(self, token: Any) -> bool:
        if any(c.isdigit() for c in token.text):
            return True
        if len(token.text) <= 3:
            return token.text.lower() in self.wörter
        if token.lemma in self.stämme:
            return True
        tris = trigramme(token.text)
        return len(token.text) >= 4 and len(tris & self.tris) >= self._config["trigramm_anteil"] * len(tris)

    def process(self, messages: list[Message]) -> list[Message]:
        for m in messages:
            tokens = m.get(TOKENS_NAMES[TEXT]) or []
            if not self.stämme or not tokens or not m.get(INTENT) or any(self.bekannt(t) for t in tokens):
                continue
            m.data[INTENT][PREDICTED_CONFIDENCE_KEY] = 0.0
            for eintrag in m.get(INTENT_RANKING_KEY) or []:
                eintrag[PREDICTED_CONFIDENCE_KEY] = 0.0
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

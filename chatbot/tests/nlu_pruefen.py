"""Gate for the held-out NLU test: `rasa test nlu` only writes a report; this fails `make test` when the intent
macro-F1 drops below the floor (the issue's target is 0.90 in cross-validation, see bench/chat_nlu.py).

Scored like the cross-validation: from the predictions (`rasa test nlu --successes` writes intent_successes.json
and intent_errors.json), a prediction below the FallbackClassifier threshold counts as nlu_fallback, i.e. as an
error. Rasa's own intent_report.json undoes the fallback and scores the intent underneath.
Usage: nlu_pruefen.py <output folder of rasa test nlu>
"""

import importlib.util
import json
import sys
from pathlib import Path

UNTERGRENZE = 0.90

_spec = importlib.util.spec_from_file_location(
    "chat_nlu", Path(__file__).resolve().parents[2] / "bench" / "chat_nlu.py")
chat_nlu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chat_nlu)

ordner = Path(sys.argv[1])
vorhersagen = []
for name in ("intent_successes.json", "intent_errors.json"):
    datei = ordner / name
    if datei.exists():
        vorhersagen += json.loads(datei.read_text(encoding="utf-8"))
if not vorhersagen:
    sys.exit(f"keine Vorhersagen in {ordner} (rasa test nlu mit --successes aufrufen)")
schwelle = chat_nlu.fallback_schwelle()
intents = chat_nlu.bewerten(vorhersagen, schwelle)
f1 = sum(v["f1-score"] for v in intents.values()) / len(intents)
richtig = sum(1 for v in vorhersagen if v["intent"] == v["intent_prediction"]["name"]
              and (v["intent_prediction"]["confidence"] or 0.0) >= schwelle)
schlecht = {k: round(v["f1-score"], 2) for k, v in intents.items() if v["f1-score"] < 0.8}
unter = sum(v["nlu_fallback"] for v in intents.values())
print(f"held-out intent macro-F1 {f1:.3f} (accuracy {richtig / len(vorhersagen):.3f}, {unter} below the fallback "
      f"threshold {schwelle}); weak: {schlecht}")
sys.exit(0 if f1 >= UNTERGRENZE else f"intent macro-F1 {f1:.3f} < {UNTERGRENZE}")

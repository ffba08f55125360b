"""NLU cross-validation of the chatbot (not a test; slow: five trainings of the NLU pipeline).

Runs `rasa test nlu --cross-validation --folds 5` from .venv-rasa on the NLU files in chatbot/data/ (nlu.yml,
nlu_out_of_scope.yml; rasa skips rules and stories) with chatbot/config.yml
and reads the report of the pooled test-fold predictions. Predictions below the FallbackClassifier threshold
count as errors (they come out as nlu_fallback).

intent_macro_f1: mean F1 over the intents of the training data (the issue's target: >= 0.90). Rasa's own
"macro avg" also averages over the label nlu_fallback, which has no examples and so an F1 of 0; it is reported
as rasa_macro_avg_f1 for comparison.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WURZEL = Path(__file__).resolve().parent.parent
CHATBOT = WURZEL / "chatbot"
RASA = WURZEL / ".venv-rasa" / "bin" / "rasa"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--out", type=Path, default=None, help="Ordner für Rasas Berichte (Standard: temporär)")
    args = p.parse_args()
    if not RASA.exists():
        print(f"{RASA} fehlt: erst `make rasa-venv`", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="chat-nlu-") as tmp:
        out = args.out or Path(tmp)
        start = time.monotonic()
        subprocess.run(
            [str(RASA), "test", "nlu", "--nlu", "data", "--config", "config.yml",
             "--cross-validation", "--folds", str(args.folds), "--out", str(out)],
            cwd=CHATBOT, check=True, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        dauer = time.monotonic() - start
        bericht = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
        fehler_datei = out / "intent_errors.json"
        fehler = json.loads(fehler_datei.read_text(encoding="utf-8")) if fehler_datei.exists() else []

    intents = {k: v for k, v in bericht.items()
               if isinstance(v, dict) and v.get("support", 0) > 0 and not k.endswith(" avg")}
    macro_f1 = sum(v["f1-score"] for v in intents.values()) / len(intents)
    schwach = {k: round(v["f1-score"], 3) for k, v in sorted(intents.items()) if v["f1-score"] < 0.9}
    for k, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        print(f"{k:28s} F1 {v['f1-score']:.3f}  P {v['precision']:.3f}  R {v['recall']:.3f}  n {v['support']}")
    ergebnis = {
        "bench": "chat_nlu",
        "folds": args.folds,
        "beispiele": sum(v["support"] for v in intents.values()),
        "intents": len(intents),
        "intent_macro_f1": round(macro_f1, 4),
        "accuracy": round(bericht["accuracy"], 4),
        "weighted_f1": round(bericht["weighted avg"]["f1-score"], 4),
        "rasa_macro_avg_f1": round(bericht["macro avg"]["f1-score"], 4),
        "fehler": len(fehler),
        "davon_nlu_fallback": sum(1 for f in fehler if f["intent_prediction"]["name"] == "nlu_fallback"),
        "intents_unter_0_9": schwach,
        "ziel_erreicht": macro_f1 >= 0.90,
        "dauer_s": round(dauer, 1),
    }
    print(json.dumps(ergebnis, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

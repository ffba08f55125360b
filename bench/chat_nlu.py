"""NLU cross-validation of the chatbot (not a test; slow: five trainings of the NLU pipeline).

Runs `rasa test nlu --cross-validation --folds 5 --successes` from .venv-rasa on the NLU files in chatbot/data/
(nlu.yml, nlu_out_of_scope.yml; rasa skips rules and stories) with chatbot/config.yml and scores the pooled
test-fold predictions itself: a prediction whose confidence is below the FallbackClassifier threshold of
config.yml counts as nlu_fallback, i.e. as an error for its intent (in the chat the bot would not act on it).
Rasa's own report does not do this: `rasa test nlu` undoes the fallback prediction and scores the intent
underneath (rasa/nlu/test.py); its figure is reported as rasa_macro_avg_f1 for comparison.
(The ambiguity threshold cannot fire above the threshold: with softmax confidences top1 >= 0.65 leaves
top2 <= 0.35.)

The folds are drawn at random (rasa's StratifiedKFold has no fixed random_state); --seed seeds numpy before rasa
starts, so two runs on the same data use the same folds and differ only by what changed (default 115; another
seed shows how much of a difference is the split).

intent_macro_f1: mean F1 over the intents of the training data (the issue's target: >= 0.90).
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
from collections import Counter
from pathlib import Path

WURZEL = Path(__file__).resolve().parent.parent
CHATBOT = WURZEL / "chatbot"
RASA = WURZEL / ".venv-rasa" / "bin" / "rasa"
PYTHON_RASA = WURZEL / ".venv-rasa" / "bin" / "python"
# rasa's command line with numpy seeded first (StratifiedKFold(shuffle=True) draws from numpy's global generator).
RASA_MIT_SEED = ("import sys, numpy; numpy.random.seed(int(sys.argv[1])); sys.argv = ['rasa'] + sys.argv[2:]; "
                 "from rasa.__main__ import main; main()")
FALLBACK = "nlu_fallback"


def fallback_schwelle() -> float:
    """Threshold of the FallbackClassifier in config.yml (read without a YAML package: .venv has none)."""
    zeilen = (CHATBOT / "config.yml").read_text(encoding="utf-8").splitlines()
    for i, zeile in enumerate(zeilen):
        if zeile.strip() == "- name: FallbackClassifier":
            for weitere in zeilen[i + 1:]:
                if weitere.strip().startswith("- "):
                    break
                if weitere.strip().startswith("threshold:"):
                    return float(weitere.split(":", 1)[1])
    raise SystemExit("FallbackClassifier threshold nicht in config.yml gefunden")


def bewerten(vorhersagen: list[dict], schwelle: float) -> dict[str, dict]:
    """Precision, recall, F1 and support per true intent; below the threshold the prediction is nlu_fallback."""
    paare = []
    for v in vorhersagen:
        name, konfidenz = v["intent_prediction"]["name"], v["intent_prediction"]["confidence"] or 0.0
        paare.append((v["intent"], name if konfidenz >= schwelle else FALLBACK))
    wahr = Counter(w for w, _ in paare)
    vorhergesagt = Counter(p for _, p in paare)
    richtig = Counter(w for w, p in paare if w == p)
    ergebnis = {}
    for intent, n in wahr.items():
        prec = richtig[intent] / vorhergesagt[intent] if vorhergesagt[intent] else 0.0
        rec = richtig[intent] / n
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        ergebnis[intent] = {"precision": prec, "recall": rec, "f1-score": f1, "support": n,
                            "nlu_fallback": sum(1 for w, p in paare if w == intent and p == FALLBACK)}
    return ergebnis


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=115, help="numpy-Seed für die Aufteilung in Folds")
    p.add_argument("--out", type=Path, default=None, help="Ordner für Rasas Berichte (Standard: temporär)")
    args = p.parse_args()
    if not RASA.exists():
        print(f"{RASA} fehlt: erst `make rasa-venv`", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="chat-nlu-") as tmp:
        out = args.out or Path(tmp)
        start = time.monotonic()
        subprocess.run(
            [str(PYTHON_RASA), "-c", RASA_MIT_SEED, str(args.seed), "test", "nlu", "--nlu", "data", "--config", "config.yml",
             "--cross-validation", "--folds", str(args.folds), "--successes", "--out", str(out)],
            cwd=CHATBOT, check=True, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        dauer = time.monotonic() - start
        bericht = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
        vorhersagen = []
        for name in ("intent_successes.json", "intent_errors.json"):
            if (out / name).exists():
                vorhersagen += json.loads((out / name).read_text(encoding="utf-8"))

    schwelle = fallback_schwelle()
    intents = bewerten(vorhersagen, schwelle)
    macro_f1 = sum(v["f1-score"] for v in intents.values()) / len(intents)
    richtig = sum(round(v["recall"] * v["support"]) for v in intents.values())
    schwach = {k: round(v["f1-score"], 3) for k, v in sorted(intents.items()) if v["f1-score"] < 0.9}
    for k, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        print(f"{k:28s} F1 {v['f1-score']:.3f}  P {v['precision']:.3f}  R {v['recall']:.3f}  n {v['support']}"
              f"  nlu_fallback {v['nlu_fallback']}")
    ergebnis = {
        "bench": "chat_nlu",
        "folds": args.folds,
        "seed": args.seed,
        "fallback_schwelle": schwelle,
        "beispiele": len(vorhersagen),
        "intents": len(intents),
        "intent_macro_f1": round(macro_f1, 4),
        "accuracy": round(richtig / len(vorhersagen), 4),
        "rasa_macro_avg_f1": round(bericht["macro avg"]["f1-score"], 4),
        "fehler": len(vorhersagen) - richtig,
        "davon_nlu_fallback": sum(v["nlu_fallback"] for v in intents.values()),
        "intents_unter_0_9": schwach,
        "ziel_erreicht": macro_f1 >= 0.90,
        "dauer_s": round(dauer, 1),
    }
    print(json.dumps(ergebnis, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

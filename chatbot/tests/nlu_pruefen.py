"""Gate for the held-out NLU test: `rasa test nlu` only writes a report; this fails `make test` when the intent
macro-F1 drops below the floor (the issue's target is 0.90 in cross-validation, see bench/chat_nlu.py)."""

import json
import sys

UNTERGRENZE = 0.90

bericht = json.load(open(sys.argv[1], encoding="utf-8"))
f1 = bericht["macro avg"]["f1-score"]
schlecht = {k: round(v["f1-score"], 2) for k, v in bericht.items() if isinstance(v, dict) and "support" in v
            and k not in ("macro avg", "weighted avg", "micro avg") and v["f1-score"] < 0.8}
print(f"held-out intent macro-F1 {f1:.3f} (accuracy {bericht.get('accuracy', float('nan')):.3f}); weak: {schlecht}")
sys.exit(0 if f1 >= UNTERGRENZE else f"intent macro-F1 {f1:.3f} < {UNTERGRENZE}")

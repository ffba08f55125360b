"""HTTP load on the search endpoint vs. a trivial endpoint of the same server, in the same run.

Starts `servicecenter serve` on a temporary SQLite database with the demo catalogue, then runs wrk
(50 connections) against GET /api/v1/leistungen?q=… (rotating citizen questions, so mostly answered from the
result cache, as repeated questions are in real use), against the same questions made unique per request
(every search computed, "suche_ungecacht"), and GET /healthz. Last line: one JSON object with requests/s and
p95 latency of each and the ratios to the trivial endpoint.
"""

from __future__ import annotations

# bench/ holds a script named like a standard module (bench/email.py): put this folder behind the standard
# library on sys.path before anything imports `email` (urllib, httpx).
import sys  # noqa: I001
_HIER = str(__import__("pathlib").Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in (_HIER, "")] + [_HIER]

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from _server import WURZEL, laufender_server, median  # noqa: E402

FRAGEN = [
    "Perso verloren was tun",
    "Wie melde ich meinen Hund an",
    "Sperrmüll abholen lassen",
    "Ich bin umgezogen und muss mich ummelden",
    "Führerschein umtauschen Kosten",
    "Baby geboren Geburtsurkunde",
    "Wohngeld beantragen Unterlagen",
    "Schlagloch in der Straße melden",
    "Gewerbe anmelden online",
    "Reisepass Express wie lange",
    "Kita Platz Halle",
    "Straßenlaterne kaputt",
]

LUA = """
local pfade = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", pfade[(i %% #pfade) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("P95_US %%d\\n", latency:percentile(95)))
  io.write(string.format("P50_US %%d\\n", latency:percentile(50)))
  io.write(string.format("RPS %%f\\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("ERRORS %%d\\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(url_basis: str, pfade: list[str], dauer: int, verbindungen: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % ", ".join(json.dumps(p) for p in pfade))
        skript = f.name
    try:
        aus = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{verbindungen}", f"-d{dauer}s", "-s", skript, url_basis],
            capture_output=True, text=True, timeout=dauer + 60, check=True,
        ).stdout
    finally:
        os.unlink(skript)
    werte = dict(re.findall(r"^(P95_US|P50_US|RPS|ERRORS) ([\d.]+)$", aus, re.M))
    return {
        "rps": round(float(werte["RPS"]), 1),
        "p50_ms": round(int(werte["P50_US"]) / 1000, 2),
        "p95_ms": round(int(werte["P95_US"]) / 1000, 2),
        "fehler": int(werte["ERRORS"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dauer", type=int, default=15, help="Sekunden je Messung")
    ap.add_argument("--verbindungen", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runden", type=int, default=2, help="abwechselnde Runden; berichtet wird der Median")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk fehlt (Debian: apt-get install wrk); `make bench` installiert es.")

    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
           "SERVICECENTER_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "servicecenter.cli"]
    subprocess.run([*cli, "wissen", "import", "--demo", "--no-fortschritt"], env=env, check=True,
                   capture_output=True, cwd=WURZEL)
    try:
        with laufender_server(env) as basis:
            such_pfade = ["/api/v1/leistungen?q=" + urllib.parse.quote(f) for f in FRAGEN]
            # A distinct question per request defeats the result cache: the cost of a computed search.
            ungecacht = ["/api/v1/leistungen?q=" + urllib.parse.quote(f"{f} {i}") for i in range(2500) for f in FRAGEN]
            wrk(basis, ["/healthz"], 3, args.verbindungen, args.threads)  # warm-up
            messungen: dict[str, list[dict]] = {"suche": [], "suche_ungecacht": [], "trivial": []}
            for _ in range(args.runden):  # alternate so all see the same machine noise
                messungen["suche"].append(wrk(basis, such_pfade, args.dauer, args.verbindungen, args.threads))
                messungen["suche_ungecacht"].append(wrk(basis, ungecacht, args.dauer, args.verbindungen, args.threads))
                messungen["trivial"].append(wrk(basis, ["/healthz"], args.dauer, args.verbindungen, args.threads))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    http: dict = {"verbindungen": args.verbindungen}
    for name, liste in messungen.items():
        http[name] = {"rps": median([m["rps"] for m in liste]), "p95_ms": median([m["p95_ms"] for m in liste]),
                      "fehler": sum(m["fehler"] for m in liste)}
    http["verhaeltnis_rps"] = round(http["suche"]["rps"] / http["trivial"]["rps"], 3)
    http["verhaeltnis_rps_ungecacht"] = round(http["suche_ungecacht"]["rps"] / http["trivial"]["rps"], 3)
    ergebnis = {"http": http}
    print(json.dumps(messungen, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(ergebnis, ensure_ascii=False))


if __name__ == "__main__":
    main()

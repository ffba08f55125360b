"""Desk benchmark (not a test): search-as-you-type and ticket creation under 20 concurrent agents.

For each database (SQLite in a temp dir; PostgreSQL in a scratch database created and dropped here) this starts
`servicecenter serve`, creates 20 agents with personal API tokens, and runs wrk (20 connections, every request
with the Bearer token of one of the agents, rotating):
  - GET /desk/suche?q=… (HX-Request; prefixes of citizen questions as typed) vs GET /healthz of the same server,
    alternating rounds so both see the same machine noise;
  - POST /api/v1/tickets {"anliegen": …, "kanal": "telefon"}: tickets per second; afterwards the tickets in the
    database are counted and their numbers checked for duplicates.
Last line: one JSON object. wrk comes from Debian (`make bench` installs it).
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
import uuid
from pathlib import Path

from _server import WURZEL, laufender_server, median  # noqa: E402

FRAGEN = [
    "Perso verloren", "Hund anmelden", "Sperrmüll abholen", "ummelden nach Umzug", "Führerschein umtauschen",
    "Geburtsurkunde", "Wohngeld beantragen", "Schlagloch melden", "Gewerbe anmelden", "Reisepass Express",
    "Kita Platz", "Straßenlaterne kaputt",
]
AGENTEN = 20

LUA = """
local pfade = {%(pfade)s}
local tokens = {%(tokens)s}
local methode = %(methode)s
local koerper = %(koerper)s
local i = 0
request = function()
  i = i + 1
  local kopf = {["Authorization"] = "Bearer " .. tokens[(i %% #tokens) + 1], ["HX-Request"] = "true",
                ["Content-Type"] = "application/json", ["Accept"] = "text/html"}
  local body = nil
  if koerper ~= "" then body = string.format(koerper, i) end
  return wrk.format(methode, pfade[(i %% #pfade) + 1], kopf, body)
end
done = function(summary, latency, requests)
  io.write(string.format("P95_US %%d\\n", latency:percentile(95)))
  io.write(string.format("P50_US %%d\\n", latency:percentile(50)))
  io.write(string.format("RPS %%f\\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("REQUESTS %%d\\n", summary.requests))
  io.write(string.format("STATUSFEHLER %%d\\n", summary.errors.status))
  io.write(string.format("ERRORS %%d\\n", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def lua_liste(werte: list[str]) -> str:
    return ", ".join(json.dumps(w) for w in werte)


def wrk(basis: str, pfade: list[str], tokens: list[str], dauer: int, verbindungen: int, threads: int,
        methode: str = "GET", koerper: str = "") -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"pfade": lua_liste(pfade), "tokens": lua_liste(tokens), "methode": json.dumps(methode),
                       "koerper": json.dumps(koerper)})
        skript = f.name
    try:
        aus = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{verbindungen}", f"-d{dauer}s", "--timeout", "10s", "-s", skript, basis],
            capture_output=True, text=True, timeout=dauer + 60, check=True,
        ).stdout
    finally:
        os.unlink(skript)
    w = dict(re.findall(r"^(P95_US|P50_US|RPS|REQUESTS|STATUSFEHLER|ERRORS) ([\d.]+)$", aus, re.M))
    return {"rps": round(float(w["RPS"]), 1), "p50_ms": round(int(w["P50_US"]) / 1000, 2),
            "p95_ms": round(int(w["P95_US"]) / 1000, 2), "anfragen": int(w["REQUESTS"]),
            "status_fehler": int(w["STATUSFEHLER"]), "verbindungsfehler": int(w["ERRORS"])}


def tippen(frage: str) -> list[str]:
    """The requests an agent's typing produces: every prefix from 3 characters on."""
    return [frage[:i] for i in range(3, len(frage) + 1)]


def agenten_anlegen(url: str) -> list[str]:
    from servicecenter.auth import service
    from servicecenter.db import make_engine, make_sessionmaker, session_scope
    from wissensdatenbank.basis import jetzt

    engine = make_engine(url)
    tokens = []
    hash_ = service.passwort_hashen(uuid.uuid4().hex + "Aa1!")
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            for n in range(AGENTEN):
                b = service.benutzer_anlegen(session, name=f"bench-agent-{n}", rolle="agent", passwort_hash=hash_,
                                             jetzt=jetzt())
                token, _ = service.token_anlegen(session, benutzer=b, bezeichnung="bench", jetzt=jetzt())
                tokens.append(token)
    finally:
        engine.dispose()
    return tokens


def tickets_zaehlen(url: str) -> dict:
    from sqlalchemy import text

    from servicecenter.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            n, eindeutig = c.execute(text("SELECT count(*), count(DISTINCT nummer) FROM ticket")).one()
    finally:
        engine.dispose()
    return {"in_db": n, "nummern_eindeutig": n == eindeutig}


def messen(url: str, args, env_basis: dict) -> dict:
    env = {**env_basis, "SERVICECENTER_DATABASE_URL": url}
    cli = [sys.executable, "-m", "servicecenter.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=WURZEL)
    subprocess.run([*cli, "wissen", "import", "--demo", "--no-fortschritt"], env=env, check=True,
                   capture_output=True, cwd=WURZEL)
    tokens = agenten_anlegen(url)
    with laufender_server(env) as basis:
        such = [f"/desk/suche?q={urllib.parse.quote(p)}" for f in FRAGEN for p in tippen(f)]
        # Check once that search and ticket creation answer as expected before measuring.
        probe = urllib.request.Request(basis + such[5], headers={"Authorization": f"Bearer {tokens[0]}",
                                                                  "HX-Request": "true"})
        with urllib.request.urlopen(probe, timeout=10) as r:
            assert r.status == 200, r.status
        c, t = args.verbindungen, args.threads
        wrk(basis, ["/healthz"], tokens, 3, c, t)  # warm-up
        wrk(basis, such, tokens, 3, c, t)
        runden: dict[str, list[dict]] = {"suche": [], "trivial": []}
        for _ in range(args.runden):
            runden["suche"].append(wrk(basis, such, tokens, args.dauer, c, t))
            runden["trivial"].append(wrk(basis, ["/healthz"], tokens, args.dauer, c, t))
        koerper = '{"anliegen": "Benchmark-Anliegen %d: Frage zum Personalausweis", "kanal": "telefon"}'
        anlegen = wrk(basis, ["/api/v1/tickets"], tokens, args.dauer, c, t, methode="POST", koerper=koerper)
    zaehlung = tickets_zaehlen(url)

    def zusammen(liste: list[dict]) -> dict:
        return {"rps": median([m["rps"] for m in liste]), "p50_ms": median([m["p50_ms"] for m in liste]),
                "p95_ms": median([m["p95_ms"] for m in liste]),
                "status_fehler": sum(m["status_fehler"] for m in liste),
                "verbindungsfehler": sum(m["verbindungsfehler"] for m in liste)}

    suche, trivial = zusammen(runden["suche"]), zusammen(runden["trivial"])
    return {
        "desk_suche": suche,
        "trivial_healthz": trivial,
        "verhaeltnis_rps_suche_zu_trivial": round(suche["rps"] / trivial["rps"], 3) if trivial["rps"] else None,
        "ticket_anlegen": {"pro_sekunde": anlegen["rps"], "p95_ms": anlegen["p95_ms"],
                           "antworten": anlegen["anfragen"], "status_fehler": anlegen["status_fehler"],
                           "tickets_in_db": zaehlung["in_db"], "nummern_eindeutig": zaehlung["nummern_eindeutig"]},
        "runden": runden,
    }


def postgres_scratch(admin_url: str) -> tuple[str, callable]:
    """Create a scratch database; return its URL and a function that drops it."""
    from sqlalchemy import create_engine, text

    name = f"bench_desk_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def weg() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + "/" + name, weg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dauer", type=int, default=10, help="Sekunden je Messung")
    ap.add_argument("--verbindungen", type=int, default=AGENTEN, help="gleichzeitige Agenten (Verbindungen)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runden", type=int, default=2, help="abwechselnde Runden Suche/trivial; berichtet: Median")
    ap.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_ADMIN_URL",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                    help="Admin-URL für eine Wegwerf-Datenbank ('' = PostgreSQL auslassen)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk fehlt (Debian: apt-get install wrk); `make bench` installiert es.")
    env = {**os.environ, "SERVICECENTER_LOG_LEVEL": "WARNING", "SERVICECENTER_COOKIE_SECURE": "false"}
    ergebnis: dict = {"agenten": args.verbindungen, "dauer_s": args.dauer, "cpus": os.cpu_count()}

    tmp = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    try:
        ergebnis["sqlite"] = messen(f"sqlite:///{tmp / 'bench.db'}", args, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.postgres:
        try:
            url, weg = postgres_scratch(args.postgres)
        except Exception as e:  # noqa: BLE001 - report, do not hide: the JSON says why
            ergebnis["postgresql"] = {"fehler": f"keine Wegwerf-Datenbank: {type(e).__name__}"}
        else:
            try:
                ergebnis["postgresql"] = messen(url, args, env)
            finally:
                weg()
    runden = {k: v.pop("runden") for k, v in ergebnis.items() if isinstance(v, dict) and "runden" in v}
    print(json.dumps(runden, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(ergebnis, ensure_ascii=False))


if __name__ == "__main__":
    main()

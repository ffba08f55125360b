"""A stub Fachverfahren (case-management back end) for the integration test and bench/uebergabe.py.

Run: `uvicorn --app-dir tests/integration stub_fachverfahren:app --port N` with
STUB_DB (SQLite file, survives restarts), STUB_SECRET (Standard Webhooks secret), optional STUB_FEHLER_500,
STUB_TIMEOUT (shares of requests answered 500 / answered too late), STUB_SCHLAF (seconds of a late answer).
It checks the signature, applies each Idempotency-Key once (the effect: one case per key), and counts cases per
ticket so duplicates show. A 500 happens before the effect; a late answer after it (the client times out
although the case exists: only the Idempotency-Key prevents a second case on retry).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


def webhook_pruefen(secret: str, headers, body: bytes) -> bool:
    """Standard Webhooks verification written independently of the adapter (whsec_ secrets not needed here)."""
    inhalt = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
    erwartet = "v1," + base64.b64encode(hmac.new(secret.encode(), inhalt, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(erwartet, s) for s in headers.get("webhook-signature", "").split())


_zustand = {
    "fehler_500": float(os.environ.get("STUB_FEHLER_500", "0")),
    "timeout": float(os.environ.get("STUB_TIMEOUT", "0")),
    "schlaf": float(os.environ.get("STUB_SCHLAF", "2")),
    "immer_503": False,
}
_zufall = random.Random(os.environ.get("STUB_SEED"))
_db = sqlite3.connect(os.environ.get("STUB_DB", ":memory:"), isolation_level=None, check_same_thread=False)
_db.execute("PRAGMA journal_mode=WAL")
_db.execute("CREATE TABLE IF NOT EXISTS vorgang (id INTEGER PRIMARY KEY, schluessel TEXT UNIQUE, ticket TEXT)")
_db.execute("CREATE TABLE IF NOT EXISTS anfrage (id INTEGER PRIMARY KEY, ergebnis TEXT)")


def _zaehlen(ergebnis: str) -> None:
    _db.execute("INSERT INTO anfrage (ergebnis) VALUES (?)", (ergebnis,))


@app.post("/vorgaenge")
async def vorgang_anlegen(request: Request):
    body = await request.body()
    if not webhook_pruefen(os.environ.get("STUB_SECRET", ""), request.headers, body):
        _zaehlen("401")
        return JSONResponse({"fehler": "Signatur"}, status_code=401)
    if _zustand["immer_503"]:
        _zaehlen("503")
        return JSONResponse({"fehler": "Wartung"}, status_code=503)
    wurf = _zufall.random()
    if wurf < _zustand["fehler_500"]:
        _zaehlen("500")
        return JSONResponse({"fehler": "intern"}, status_code=500)
    schluessel = request.headers.get("Idempotency-Key", "")
    if not schluessel:
        return JSONResponse({"fehler": "Idempotency-Key fehlt"}, status_code=400)
    ticket = json.loads(body)["ticket"]["nummer"]
    zeile = _db.execute("SELECT id FROM vorgang WHERE schluessel = ?", (schluessel,)).fetchone()
    if zeile is None:  # the effect: one case per key
        zeile = (_db.execute("INSERT INTO vorgang (schluessel, ticket) VALUES (?, ?)", (schluessel, ticket)).lastrowid,)
    if wurf < _zustand["fehler_500"] + _zustand["timeout"]:
        _zaehlen("spaet")
        await asyncio.sleep(_zustand["schlaf"])
    else:
        _zaehlen("201")
    return JSONResponse({"vorgang_id": f"FV-{zeile[0]}"}, status_code=201)


@app.post("/steuerung")
async def steuerung(request: Request):
    _zustand.update(await request.json())
    return _zustand


@app.get("/statistik")
async def statistik():
    faelle = _db.execute("SELECT count(*) FROM vorgang").fetchone()[0]
    tickets = _db.execute("SELECT count(DISTINCT ticket) FROM vorgang").fetchone()[0]
    doppelt = _db.execute(
        "SELECT count(*) FROM (SELECT ticket FROM vorgang GROUP BY ticket HAVING count(*) > 1)").fetchone()[0]
    anfragen = dict(_db.execute("SELECT ergebnis, count(*) FROM anfrage GROUP BY ergebnis").fetchall())
    return {"faelle": faelle, "tickets": tickets, "doppelt": doppelt, "anfragen": anfragen}


@app.get("/faelle")
async def faelle():
    return dict(_db.execute("SELECT ticket, 'FV-' || id FROM vorgang").fetchall())

"""E-mail receiving benchmark (not a test).

1. Throughput of the whole receiving pipeline (raw stored and committed → parse → dedupe → detection → rate limit
   → threading → quotes → triage → ticket with suggestions or automatic answer queued, committed), one mail after
   the other, on SQLite (temporary file) and PostgreSQL (a scratch database `bench_mail`, dropped and created
   here). The mails are our triage set (tests/fixtures/mails/triage_set.yaml) repeated with different senders.
2. In the same run: Python's email package alone (message_from_bytes with policy.default and get_content() on
   every leaf part) over the same mails, as the baseline `nur_parsen`.
3. Triage top-1 on the triage set (share of mails whose first suggested Leistung is the expected one).
4. The real-world corpus (../shared/data/mail-corpus) through the pipeline: crashes and expected values matched
   (how they are compared: korpus/mailkorpus.py).

Last line: one JSON object.
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `email` package (the issue fixes the name): drop its own folder
# from the import path before anything imports `email`.
_HIER = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HIER]

import argparse  # noqa: E402
import email  # noqa: E402
import email.policy  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

WURZEL = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(WURZEL))

import yaml  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from kanaele.email.models import MailEingang  # noqa: E402
from kanaele.email.pipeline import MailVerarbeitung  # noqa: E402
from kanaele.email.triage import triage  # noqa: E402
from servicecenter.db import make_engine, make_sessionmaker  # noqa: E402
from servicecenter.migrate import upgrade  # noqa: E402
from servicecenter.settings import Settings  # noqa: E402
from wissensdatenbank.importe import demo  # noqa: E402
from wissensdatenbank.importe.basis import importiere  # noqa: E402
from wissensdatenbank.service import Wissensdatenbank  # noqa: E402

SET = WURZEL / "tests" / "fixtures" / "mails" / "triage_set.yaml"


def mails_bauen(n: int) -> list[bytes]:
    eintraege = yaml.safe_load(SET.read_text(encoding="utf-8"))["mails"]
    aus = []
    for i in range(n):
        m = eintraege[i % len(eintraege)]
        aus.append((
            f"From: Person {i} <person{i}@example.org>\nTo: 115@halle.example\nSubject: {m['betreff']}\n"
            f"Date: Mon, 02 Mar 2026 09:00:00 +0100\nMessage-ID: <{uuid.uuid4().hex}@example.org>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"{m['text']}"
        ).encode())
    return aus


def nur_parsen(mails: list[bytes], runden: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(runden):
        for roh in mails:
            msg = email.message_from_bytes(roh, policy=email.policy.default)
            for part in msg.walk():
                if not part.is_multipart():
                    try:
                        part.get_content()
                    except (KeyError, LookupError):
                        pass
    return runden * len(mails) / (time.perf_counter() - start)


def datenbank_vorbereiten(url: str):
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        bericht = importiere(s, format="demo", eintraege=demo.lesen(), region="150020000000")
        assert bericht.ok, bericht.fehler
        s.commit()
    wdb = Wissensdatenbank(sessions, sync_intervall=3600)
    wdb.aufbauen()
    return engine, sessions, wdb


def durchsatz(url: str, mails: list[bytes]) -> dict:
    engine, sessions, wdb = datenbank_vorbereiten(url)
    settings = Settings(database_url=url, _env_file=None)
    v = MailVerarbeitung(sessions, wdb, settings)
    v.annehmen(mails_bauen(1)[0], quelle="cli")  # warm-up: imports, template compilation, first queries
    start, cpu = time.perf_counter(), time.process_time()
    for roh in mails:
        v.annehmen(roh, quelle="cli")
    dauer, cpu = time.perf_counter() - start, time.process_time() - cpu
    with sessions() as s:
        zeilen = dict(s.execute(select(MailEingang.aktion, func.count()).group_by(MailEingang.aktion)).tuples().all())
        ohne_ticket = s.scalar(select(func.count()).select_from(MailEingang).where(MailEingang.ticket_id.is_(None)))
    engine.dispose()
    # CPU time of this process per mail: what the machine's other load cannot distort (database server excluded).
    return {"mails_pro_s": round(len(mails) / dauer, 1), "n": len(mails), "sekunden": round(dauer, 2),
            "cpu_ms_pro_mail": round(cpu / len(mails) * 1000, 1),
            "aktionen": zeilen, "ohne_ticket": ohne_ticket}


def _prozess(url: str, mails: list[bytes], barriere, ergebnisse) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    wdb = Wissensdatenbank(sessions, sync_intervall=3600)
    wdb.aufbauen()
    v = MailVerarbeitung(sessions, wdb, Settings(database_url=url, _env_file=None))
    barriere.wait()
    start = time.time()
    for roh in mails:
        v.annehmen(roh, quelle="cli")
    ergebnisse.put((start, time.time(), len(mails)))
    engine.dispose()


def parallel(url: str, mails: list[bytes], prozesse: int) -> dict:
    """Several receiving processes on one PostgreSQL database (how a busy mailbox would be run)."""
    import multiprocessing as mp

    datenbank_vorbereiten(url)[0].dispose()
    ctx = mp.get_context("spawn")
    barriere, ergebnisse = ctx.Barrier(prozesse), ctx.Queue()
    teile = [mails[i::prozesse] for i in range(prozesse)]
    ps = [ctx.Process(target=_prozess, args=(url, t, barriere, ergebnisse)) for t in teile]
    for p in ps:
        p.start()
    werte = [ergebnisse.get(timeout=900) for _ in ps]
    for p in ps:
        p.join()
    dauer = max(w[1] for w in werte) - min(w[0] for w in werte)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        status = dict(s.execute(select(MailEingang.status, func.count()).group_by(MailEingang.status)).tuples().all())
    engine.dispose()
    return {"prozesse": prozesse, "mails_pro_s": round(sum(w[2] for w in werte) / dauer, 1), "status": status}


def triage_quote(url: str) -> tuple[float, int]:
    engine, sessions, wdb = datenbank_vorbereiten(url)
    eintraege = yaml.safe_load(SET.read_text(encoding="utf-8"))["mails"]
    richtig = 0
    for m in eintraege:
        e = triage(wdb, m["betreff"], m["text"])
        richtig += bool(e.leistung and e.leistung.name == m["leistung"])
    engine.dispose()
    return richtig / len(eintraege), len(eintraege)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300, help="mails per database")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_mail",
                    help="PostgreSQL URL of a scratch database (its schema is dropped); empty: skip")
    ap.add_argument("--prozesse", type=int, default=4,
                    help="additionally: this many receiving processes in parallel on PostgreSQL (1: skip)")
    ap.add_argument("--korpus", default=str(WURZEL.parent / "shared" / "data" / "mail-corpus"))
    args = ap.parse_args()
    mails = mails_bauen(args.n)

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = durchsatz(f"sqlite:///{tmp}/bench.db", mails)
        print(f"SQLite:     {sqlite}", flush=True)
        quote, n_set = triage_quote(f"sqlite:///{tmp}/triage.db")
        print(f"Triage:     top-1 {quote:.3f} auf {n_set} eigenen Mails", flush=True)
        korpus = {"n": 0, "abstuerze": None, "erwartet_ok": None, "erwartet_n": None}
        if Path(args.korpus).is_dir():
            from korpus.mailkorpus import pipeline_lauf

            url = f"sqlite:///{tmp}/korpus.db"
            engine, _, _ = datenbank_vorbereiten(url)
            engine.dispose()
            lauf = pipeline_lauf(Path(args.korpus), url, Settings(database_url=url, _env_file=None))
            korpus = {"n": lauf.n, "abstuerze": lauf.abstuerze, "erwartet_ok": lauf.erwartet_ok,
                      "erwartet_n": lauf.erwartet_n}
            print(f"Korpus:     {korpus}, je Quelle (ok, n): {lauf.nach_quelle()}, "
                  f"{lauf.n / lauf.sekunden:.1f} Mails/s", flush=True)
        else:
            print(f"Korpus fehlt unter {args.korpus}: übersprungen", flush=True)

    pg = None
    if args.pg:
        url = make_url(args.pg)
        admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                            isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar():
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        pg = durchsatz(args.pg, mails)
        print(f"PostgreSQL: {pg}", flush=True)
        if args.prozesse > 1:
            print(f"PostgreSQL, parallel: {parallel(args.pg, mails, args.prozesse)}", flush=True)

    parsen = nur_parsen(mails)
    print(f"Nur Parsen (email-Paket): {parsen:.0f} Mails/s", flush=True)
    print(json.dumps({
        "mails_pro_s": {"sqlite": sqlite["mails_pro_s"], "postgresql": pg["mails_pro_s"] if pg else None,
                        "nur_parsen": round(parsen, 1)},
        "triage_top1": round(quote, 3), "triage_n": n_set, "korpus": korpus,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()

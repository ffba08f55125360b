"""Chat turns through the servicecenter's chat API against the real stack, and the bot's answer accuracy.

Starts `servicecenter serve` (temporary SQLite, demo catalogue), the Rasa server with chatbot/models/
servicecenter.tar.gz and the action server (both from .venv-rasa), all on free loopback ports. Then:

1. Latency: 10 concurrent conversations, each sending catalogue questions (intent frage_leistung: the action
   searches the Wissensdatenbank over HTTP) through `POST /api/v1/chat/{id}/nachrichten`; p50/p95 per turn.
   Questions rotate over fragen-dev, so some searches come from the search cache (as repeated questions do in
   real use); the first pass over each question is uncached.
2. Accuracy on ../shared/data/demo-katalog/fragen-dev.tsv: one fresh conversation per question; the bot is right
   when the `leistung` of its reply is the expected Leistung. Beside it the Wissensdatenbank's own hit@1
   (`GET /api/v1/leistungen?q=`) on the same questions.

Each configuration (--rasa-instanzen, default 2 and then 1 Rasa server, as make run starts; the servicecenter
gives a new conversation to the instance with the fewest running conversations and keeps it there) is started and
measured in turn, in the same run; the last one is the headline figure and also measures the accuracy.

Latency is measured twice: closed loop (each conversation sends its next turn as soon as the answer is there: a
throughput test, on 2 shared cores it mostly measures the CPU per turn times 10; by default all ten start in the
same instant, so the ten opening turns queue at once and make up the top of the distribution; --anlauf lets them
join one after another as a load test ramps up its users, at the price of fewer conversations in flight at the
edges) and with a pause between the turns of a conversation (--pause, a citizen reading and typing). Beside it the CPU milliseconds per turn of each process
(servicecenter, Rasa, action server), which do not depend on other load on the machine.

Last line: one JSON object. Target: p95 <= 300 ms at 10 concurrent conversations.
"""

from __future__ import annotations

import sys

# bench/ holds scripts named like standard modules (bench/email.py): never import from it by name.
_HIER = str(__import__("pathlib").Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in (_HIER, "")]

import argparse  # noqa: E402
import csv  # noqa: E402
import http.client  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

_spec = importlib.util.spec_from_file_location("_bench_server", Path(_HIER) / "_server.py")
_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_server)
WURZEL, freier_port, laufender_server, median = (_server.WURZEL, _server.freier_port, _server.laufender_server,
                                                 _server.median)

RASA = WURZEL / ".venv-rasa" / "bin" / "rasa"
MODELL = WURZEL / "chatbot" / "models" / "servicecenter.tar.gz"
BOT_TOKEN = secrets.token_urlsafe(24)
RASA_TOKEN = secrets.token_urlsafe(24)


def quantil(werte: list[float], q: float) -> float:
    s = sorted(werte)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1)


def warten(url: str, prozess: subprocess.Popen, sekunden: float, name: str) -> None:
    frist = time.monotonic() + sekunden
    while time.monotonic() < frist:
        if prozess.poll() is not None:
            raise RuntimeError(f"{name} beendet")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} antwortet nicht")


def fragen_laden(pfad: Path) -> list[tuple[str, str]]:
    with open(pfad, encoding="utf-8") as f:
        return [(z["frage"], z["erwartet"]) for z in csv.DictReader(f, delimiter="\t")]


class Verbindung:
    """One keep-alive HTTP/1.1 connection of a simulated citizen (stdlib http.client).

    The load generator runs on the same 2 cores as the system it measures: httpx cost 5.2 ms CPU per turn in the
    benchmark process (10 threads), CPU the servicecenter and Rasa then lacked; http.client needs a fraction of
    that. A browser's requests cost the server the same either way."""

    def __init__(self, basis: str) -> None:
        teile = urllib.parse.urlsplit(basis)
        self._host, self._port = teile.hostname, teile.port

    def __enter__(self) -> Verbindung:
        self._c = http.client.HTTPConnection(self._host, self._port, timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        self._c.close()

    def post(self, pfad: str, daten: dict) -> tuple[int, bytes]:
        koerper = json.dumps(daten).encode()
        kopf = {"Content-Type": "application/json", "Content-Length": str(len(koerper))}
        try:
            self._c.request("POST", pfad, body=koerper, headers=kopf)
            r = self._c.getresponse()
        except (http.client.HTTPException, OSError):
            self._c.close()  # the next request opens a new connection
            raise
        return r.status, r.read()


class HttpFehler(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def zug(v: Verbindung, gid: str, text: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    status, koerper = v.post(f"/api/v1/chat/{gid}/nachrichten", {"text": text})
    ms = (time.perf_counter() - t0) * 1000
    if status >= 400:
        raise HttpFehler(status)
    return ms, json.loads(koerper)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    felder = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(felder[11]) + int(felder[12])) / _TICK * 1000


def server_pid(port: int) -> int | None:
    """The `servicecenter serve --port N` process started by laufender_server (it does not hand out the pid)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in argv and str(port).encode() in argv:
                return int(d.name)
    return None


def stapel_messen(a: argparse.Namespace, fragen: list[tuple[str, str]], instanzen: int,
                  genauigkeit: bool) -> dict:
    """Start servicecenter, `instanzen` Rasa servers (conversations routed by id) and one action server; measure
    latency (closed loop and paced) and, if asked, the accuracy."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    rasa_ports = [freier_port() for _ in range(instanzen)]
    aktion_port = freier_port()
    rasa_urls = [f"http://127.0.0.1:{p}" for p in rasa_ports]
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
           "SERVICECENTER_LOG_LEVEL": "WARNING", "SERVICECENTER_CHAT_RASA_URLS": json.dumps(rasa_urls),
           "SERVICECENTER_CHAT_BOT_TOKEN": BOT_TOKEN, "SERVICECENTER_CHAT_RASA_TOKEN": RASA_TOKEN,
           "SERVICECENTER_CHAT_MAX_NACHRICHTEN_CLIENT": "100000",
           "SERVICECENTER_CHAT_MAX_NACHRICHTEN_GESPRAECH": "100000",
           "SERVICECENTER_STATUS_MAX_VERSUCHE": "100000"}
    env.pop("SERVICECENTER_TEST_DATABASE_URL", None)
    cli = [sys.executable, "-m", "servicecenter.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, cwd=WURZEL, capture_output=True)
    subprocess.run([*cli, "wissen", "import", "--demo", "--no-fortschritt"], env=env, check=True, cwd=WURZEL,
                   capture_output=True)
    # the project's endpoints.yml (tracker store, selective domain) with this run's action server port
    (tmp / "endpoints.yml").write_text((WURZEL / "chatbot" / "endpoints.yml").read_text(encoding="utf-8").replace(
        "127.0.0.1:5055/", f"127.0.0.1:{aktion_port}/"), encoding="utf-8")
    prozesse: list[subprocess.Popen] = []
    ergebnis: dict = {"rasa_instanzen": instanzen}
    try:
        with laufender_server(env) as basis:
            rasa_env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SERVICECENTER_URL": basis,
                        "SERVICECENTER_CHAT_BOT_TOKEN": BOT_TOKEN}
            rasa_env.pop("VIRTUAL_ENV", None)
            # one log per process: on a failed start the tail of each is shown (a shared file showed only the
            # action server's last lines when a Rasa server had ended early: argparse had taken a token beginning
            # with "-" for an option, hence --auth-token=<token>)
            log = open(tmp / "rasa.log", "w")  # noqa: SIM115
            aktionen_log = open(tmp / "aktionen.log", "w")  # noqa: SIM115
            rasas = [subprocess.Popen(
                [str(RASA), "run", "--enable-api", f"--auth-token={RASA_TOKEN}", "-m", str(MODELL), "--endpoints",
                 str(tmp / "endpoints.yml"), "--credentials", "credentials.yml", "--port", str(port),
                 "-i", "127.0.0.1"], cwd=WURZEL / "chatbot", env=rasa_env, stdout=log, stderr=subprocess.STDOUT)
                for port in rasa_ports]
            aktionen = subprocess.Popen(
                [str(RASA), "run", "actions", "--actions", "actions", "--port", str(aktion_port)],
                cwd=WURZEL / "chatbot", env=rasa_env, stdout=aktionen_log, stderr=subprocess.STDOUT)
            prozesse += [*rasas, aktionen]
            try:
                warten(f"http://127.0.0.1:{aktion_port}/health", aktionen, 120, "Action-Server")
                for url, rasa in zip(rasa_urls, rasas, strict=True):
                    warten(f"{url}/status?token={RASA_TOKEN}", rasa, 300, "Rasa")
            except RuntimeError:
                log.flush()
                aktionen_log.flush()
                for name in ("rasa.log", "aktionen.log"):
                    print(f"--- {name}:", (tmp / name).read_text(errors="replace")[-3000:], file=sys.stderr)
                print("exit codes:", [p.poll() for p in prozesse], file=sys.stderr)
                raise

            with Verbindung(basis) as v:  # warm-up: models (each instance), connection pools
                for frage, _ in fragen[: 3 * instanzen]:
                    zug(v, secrets.token_urlsafe(24), frage)

            pids = {"servicecenter": server_pid(int(basis.rsplit(":", 1)[1])), "aktionen": aktionen.pid}
            pids.update({f"rasa{i + 1}" if instanzen > 1 else "rasa": r.pid for i, r in enumerate(rasas)})
            pids = {k: v for k, v in pids.items() if v is not None}

            zeiten: list[float] = []
            fehler = [0]
            fehlerarten: dict[str, int] = {}
            sperre = threading.Lock()
            start = threading.Barrier(a.gespraeche)
            pause = [0.0]

            def gespraech(nr: int) -> None:
                gid = secrets.token_urlsafe(24)
                with Verbindung(basis) as v:
                    start.wait()
                    time.sleep(nr * a.anlauf / a.gespraeche)  # ramp-up: conversation nr joins after nr steps
                    for i in range(a.zuege):
                        if pause[0] and i:
                            time.sleep(pause[0])
                        frage = fragen[(nr * a.zuege + i) % len(fragen)][0]
                        try:
                            ms, _ = zug(v, gid, frage)
                        except (HttpFehler, http.client.HTTPException, OSError) as e:
                            art = type(e).__name__ + str(getattr(e, "status", ""))
                            with sperre:
                                fehler[0] += 1
                                fehlerarten[art] = 1 + fehlerarten.get(art, 0)
                            continue
                        with sperre:
                            zeiten.append(ms)

            def lauf() -> tuple[list[float], float, dict[str, float]]:
                zeiten.clear()
                cpu0 = {k: cpu_ms(p) for k, p in pids.items()}
                eigen0 = time.process_time()
                t0 = time.perf_counter()
                threads = [threading.Thread(target=gespraech, args=(n,)) for n in range(a.gespraeche)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                dauer = time.perf_counter() - t0
                cpu = {k: round((cpu_ms(p) - cpu0[k]) / max(1, len(zeiten)), 1) for k, p in pids.items()}
                # the load generator's own CPU (not part of the sum: in real use the clients are browsers elsewhere)
                cpu["lastgenerator"] = round((time.process_time() - eigen0) * 1000 / max(1, len(zeiten)), 1)
                return list(zeiten), dauer, cpu

            geschlossen, dauer, cpu = lauf()
            pause[0] = a.pause
            gebremst, dauer_gebremst, _ = lauf()
            if fehlerarten:
                print(f"fehlerarten ({instanzen} Rasa): {fehlerarten}", file=sys.stderr)
            ergebnis.update({
                "zuege": len(geschlossen),
                "fehler": fehler[0],
                "zuege_pro_s": round(len(geschlossen) / dauer, 1),
                "p50_ms": quantil(geschlossen, 0.5) if geschlossen else None,
                "p95_ms": quantil(geschlossen, 0.95) if geschlossen else None,
                "cpu_ms_pro_zug": cpu,
                "cpu_ms_pro_zug_summe": round(sum(v for k, v in cpu.items() if k != "lastgenerator"), 1),
                "p50_ms_mit_pause": quantil(gebremst, 0.5) if gebremst else None,
                "p95_ms_mit_pause": quantil(gebremst, 0.95) if gebremst else None,
                "zuege_pro_s_mit_pause": round(len(gebremst) / dauer_gebremst, 1),
            })

            if genauigkeit:
                # one fresh conversation per question, beside the search's own hit@1
                richtig_bot = richtig_suche = 0
                falsch: list[dict] = []
                with httpx.Client() as c, Verbindung(basis) as v:
                    for frage, erwartet in fragen:
                        _, d = zug(v, secrets.token_urlsafe(24), frage)
                        bot = (d.get("leistung") or {}).get("name")
                        treffer = c.get(f"{basis}/api/v1/leistungen", params={"q": frage, "limit": 1},
                                        timeout=10).json()["treffer"]
                        suche = treffer[0]["name"] if treffer else None
                        erlaubt = set(erwartet.split("|"))  # some questions name alternatives
                        richtig_bot += bot in erlaubt
                        richtig_suche += suche in erlaubt
                        if bot not in erlaubt:
                            falsch.append({"frage": frage, "erwartet": erwartet, "bot": bot, "suche": suche})
                for f in falsch:
                    print(f"falsch: {f}", file=sys.stderr)
                n = len(fragen)
                ergebnis.update({"fragen": n, "bot_genauigkeit": round(richtig_bot / n, 3),
                                 "suche_hit1": round(richtig_suche / n, 3),
                                 "abstand_punkte": round((richtig_suche - richtig_bot) / n * 100, 1)})
    finally:
        for p in prozesse:
            p.terminate()
        for p in prozesse:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return ergebnis


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--korpus", default=str(WURZEL.parent / "shared" / "data"))
    ap.add_argument("--gespraeche", type=int, default=10)
    ap.add_argument("--zuege", type=int, default=15, help="turns per conversation")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between turns in the paced run")
    ap.add_argument("--anlauf", type=float, default=0.0,
                    help="ramp-up: the conversations start one after another within this many seconds (default 0: "
                         "all in the same instant, the strict reading of '10 concurrent conversations'; the ten "
                         "opening turns then queue behind each other and make up the top of the distribution. With "
                         "0.5 and --zuege 20 the runs here kept about 9 conversations in flight on average)")
    ap.add_argument("--rasa-instanzen", type=int, nargs="+", default=[2, 1],
                    help="configurations measured one after the other (number of Rasa servers); the last one is "
                         "the headline figure (make run starts RASA_INSTANZEN, default 1)")
    a = ap.parse_args()
    fragen = fragen_laden(Path(a.korpus) / "demo-katalog" / "fragen-dev.tsv")
    if not MODELL.exists():
        raise SystemExit(f"{MODELL} fehlt: make rasa-modell")
    laeufe = [stapel_messen(a, fragen, n, genauigkeit=(i == len(a.rasa_instanzen) - 1))
              for i, n in enumerate(a.rasa_instanzen)]
    haupt = laeufe[-1]
    ergebnis = {
        "bench": "chat",
        "gespraeche": a.gespraeche,
        "zuege_je_gespraech": a.zuege,
        "pause_s": a.pause,
        "anlauf_s": a.anlauf,
        "rasa_instanzen": haupt["rasa_instanzen"],
        "p50_ms": haupt["p50_ms"],
        "p95_ms": haupt["p95_ms"],
        "zuege_pro_s": haupt["zuege_pro_s"],
        "fehler": haupt["fehler"],
        "p95_ms_mit_pause": haupt["p95_ms_mit_pause"],
        "cpu_ms_pro_zug": haupt["cpu_ms_pro_zug"],
        "ziel_p95_ms": 300,
        "je_konfiguration": [{k: v for k, v in lauf.items() if k not in ("fragen", "bot_genauigkeit", "suche_hit1",
                                                                           "abstand_punkte")} for lauf in laeufe],
        "last_1min": round(os.getloadavg()[0], 2),
        "fragen": haupt["fragen"],
        "bot_genauigkeit": haupt["bot_genauigkeit"],
        "suche_hit1": haupt["suche_hit1"],
        "abstand_punkte": haupt["abstand_punkte"],
    }
    print(json.dumps(ergebnis, ensure_ascii=False))


if __name__ == "__main__":
    main()

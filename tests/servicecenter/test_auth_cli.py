"""`servicecenter benutzer …` end to end on a temporary SQLite database (subprocesses, like a user runs it)."""

import hashlib
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

WURZEL = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"sc115_[A-Za-z0-9_-]{43}")


def cli(url, *args, eingabe=None, cwd=WURZEL):
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "servicecenter.cli", "benutzer", *args], input=eingabe,
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def _db(url) -> sqlite3.Connection:
    return sqlite3.connect(url.removeprefix("sqlite:///"))


def test_anlegen_token_widerrufen_liste(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    pw = tmp_path / "pw.txt"
    pw.write_text("Ein-langes-Passwort-1\n", encoding="utf-8")
    lauf = cli(url, "anlegen", "Petra", "--rolle", "teamleitung", "--anzeigename", "Petra Muster",
               "--passwort-datei", str(pw))
    assert lauf.returncode == 0, lauf.stderr
    assert lauf.stdout.strip() == "Benutzer petra (Teamleitung) angelegt."
    name, anzeige, rolle, hash_ = _db(url).execute(
        "SELECT name, anzeigename, rolle, passwort_hash FROM benutzer").fetchone()
    assert (name, anzeige, rolle) == ("petra", "Petra Muster", "teamleitung")
    assert hash_.startswith("$argon2id$") and PasswordHasher().verify(hash_, "Ein-langes-Passwort-1")

    doppelt = cli(url, "anlegen", "petra", "--rolle", "agent", "--passwort-datei", str(pw))
    assert doppelt.returncode == 1 and "gibt es schon" in doppelt.stderr

    token = cli(url, "token", "petra", "--bezeichnung", "Telefonanlage")
    assert token.returncode == 0, token.stderr
    assert TOKEN.fullmatch(token.stdout.strip()), token.stdout  # only the token on stdout
    klartext = token.stdout.strip()
    zeilen = _db(url).execute("SELECT * FROM api_token").fetchall()
    assert len(zeilen) == 1 and all(klartext not in str(w) for w in zeilen[0])
    assert hashlib.sha256(klartext.encode()).hexdigest() in zeilen[0]
    assert cli(url, "token", "niemand").returncode == 1

    liste = cli(url, "liste")
    assert "petra" in liste.stdout and "Teamleitung" in liste.stdout and klartext[:14] in liste.stdout
    assert klartext not in liste.stdout

    weg = cli(url, "token-widerrufen", klartext[:14])
    assert weg.returncode == 0 and "widerrufen" in weg.stdout
    assert _db(url).execute("SELECT widerrufen_am FROM api_token").fetchone()[0] is not None
    assert "schon widerrufen" in cli(url, "token-widerrufen", klartext[:14]).stdout
    assert cli(url, "token-widerrufen", "sc115_gibtsnix").returncode == 1
    assert "widerrufen" in cli(url, "liste").stdout


def test_anlegen_prueft_passwort_und_rolle(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    kurz = tmp_path / "kurz.txt"
    kurz.write_text("elf-Zeichen", encoding="utf-8")
    lauf = cli(url, "anlegen", "otto", "--rolle", "agent", "--passwort-datei", str(kurz))
    assert lauf.returncode == 1 and "mindestens 12 Zeichen" in lauf.stderr
    rolle = cli(url, "anlegen", "otto", "--rolle", "chef", "--passwort-datei", str(kurz))
    assert rolle.returncode == 2 and "Unbekannte Rolle" in rolle.stderr
    fehlt = cli(url, "anlegen", "otto", "--rolle", "agent", "--passwort-datei", str(tmp_path / "fehlt.txt"))
    assert fehlt.returncode == 2
    # Rejected before the database is touched.
    assert not (tmp_path / "b.db").exists()


def test_passwort_abfrage_zweimal(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    anders = cli(url, "anlegen", "otto", "--rolle", "agent", eingabe="Ein-langes-Passwort-1\nAnderes-Passwort-22\n")
    assert anders.returncode != 0
    lauf = cli(url, "anlegen", "otto", "--rolle", "agent", eingabe="Ein-langes-Passwort-1\nEin-langes-Passwort-1\n")
    assert lauf.returncode == 0, lauf.stderr
    assert "Ein-langes-Passwort-1" not in lauf.stdout + lauf.stderr
    assert _db(url).execute("SELECT count(*) FROM benutzer").fetchone()[0] == 1


def test_demo_zugaenge_einmalig(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    lauf = cli(url, "demo", cwd=tmp_path)
    assert lauf.returncode == 0, lauf.stderr
    datei = tmp_path / "var" / "demo-zugaenge.txt"
    assert stat.S_IMODE(datei.stat().st_mode) == 0o600
    inhalt = datei.read_text(encoding="utf-8")
    zugaenge = dict(re.findall(r"Benutzer (\w+)\s+Rolle \w+\s+Passwort (\S+)", inhalt))
    assert set(zugaenge) == {"admin", "agent"}
    assert all(pw in lauf.stdout for pw in zugaenge.values())
    hashes = dict(_db(url).execute("SELECT name, passwort_hash FROM benutzer").fetchall())
    rollen = dict(_db(url).execute("SELECT name, rolle FROM benutzer").fetchall())
    assert rollen == {"admin": "admin", "agent": "agent"}
    for name, pw in zugaenge.items():
        assert len(pw) >= 12 and PasswordHasher().verify(hashes[name], pw)

    nochmal = cli(url, "demo", cwd=tmp_path)
    assert nochmal.returncode == 0 and "keine Demo-Zugänge angelegt" in nochmal.stdout
    assert not any(pw in nochmal.stdout for pw in zugaenge.values())
    assert datei.read_text(encoding="utf-8") == inhalt

"""The CLI end to end on a temporary SQLite database (subprocesses, like a user runs it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WURZEL = Path(__file__).resolve().parents[2]


def cli(url, *args, eingabe=None):
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "servicecenter.cli", *args], input=eingabe, capture_output=True,
                          text=True, env=env, cwd=WURZEL, timeout=300)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'demo.db'}"
    lauf = cli(url, "wissen", "import", "--demo", "--no-fortschritt")
    assert lauf.returncode == 0, lauf.stderr
    assert "0 Fehler" in lauf.stdout
    return url


def test_demo_import_ist_idempotent(demo_url):
    lauf = cli(demo_url, "wissen", "import", "--demo", "--no-fortschritt")
    assert lauf.returncode == 0
    assert lauf.stdout.startswith("Import (demo): 0 neu, 0 aktualisiert")
    leer = cli(demo_url, "wissen", "import", "--demo", "--nur-wenn-leer")
    assert "kein Import" in leer.stdout


def test_suche_json_zeilenweise(demo_url):
    lauf = cli(demo_url, "wissen", "suche", "--json", eingabe="Perso verloren\n\nHund anmelden\nasdf qwertz\n")
    assert lauf.returncode == 0, lauf.stderr
    zeilen = [json.loads(z) for z in lauf.stdout.splitlines()]
    assert [z["frage"] for z in zeilen] == ["Perso verloren", "Hund anmelden", "asdf qwertz"]
    assert zeilen[0]["treffer"][0]["name"] == "Verlust oder Diebstahl des Personalausweises melden"
    assert zeilen[1]["treffer"][0]["name"] == "Hund zur Hundesteuer anmelden"
    assert len(zeilen[1]["treffer"]) <= 10
    assert all(t["konfidenz"] == "kein Treffer" for t in zeilen[2]["treffer"][:1])
    t = zeilen[0]["treffer"][0]
    assert set(t) == {"id", "name", "leika", "score", "konfidenz"}


def test_import_mit_fehlern_endet_nicht_null(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    datei = tmp_path / "l.csv"
    datei.write_text("quell_id,leistungsname,leika\na,Gut,\nb,,\n", encoding="utf-8")
    lauf = cli(url, "wissen", "import", "--format", "csv", str(datei), "--no-fortschritt")
    assert lauf.returncode == 1
    assert "FEHLER Zeile 3 (b): Der Leistungsname fehlt." in lauf.stderr
    assert "1 neu" in lauf.stdout


def test_import_falsche_argumente(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert cli(url, "wissen", "import", "--format", "unbekannt", str(tmp_path)).returncode == 2
    assert cli(url, "wissen", "import", "--format", "csv", str(tmp_path / "fehlt.csv")).returncode == 2
    assert cli(url, "wissen", "import").returncode == 2


def test_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'neu.db'}"
    lauf = cli(url, "db", "upgrade")
    assert lauf.returncode == 0 and "neuesten Stand" in lauf.stdout

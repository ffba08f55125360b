"""Importers against the real public-sector exports in ../shared (read from there, never copied)."""

from __future__ import annotations

import re

from korpus.conftest import cli


def test_dldb_berlin_2016(korpus, tmp_path):
    url = f"sqlite:///{tmp_path / 'dldb.db'}"
    lauf = cli(url, "wissen", "import", "--format", "dldb", str(korpus / "public-sector/berlin-dldb-2016"),
               "--no-fortschritt", "--region", "110000000000")
    # The 2016 export has no description texts, but every record is valid.
    assert lauf.returncode == 0, lauf.stderr
    assert lauf.stdout.startswith("Import (dldb): 560 neu"), lauf.stdout
    assert "Organisationseinheiten: 496 neu" in lauf.stdout
    # Idempotent: a second run creates nothing new.
    zweiter = cli(url, "wissen", "import", "--format", "dldb", str(korpus / "public-sector/berlin-dldb-2016"),
                  "--no-fortschritt", "--region", "110000000000")
    assert " 0 neu" in zweiter.stdout or zweiter.stdout.startswith("Import (dldb): 0 neu"), zweiter.stdout


def test_integreat_seiten(korpus, tmp_path):
    url = f"sqlite:///{tmp_path / 'ig.db'}"
    for datei in sorted((korpus / "public-sector/integreat-qa").glob("pages_*.json")):
        lauf = cli(url, "wissen", "import", "--format", "integreat", str(datei), "--no-fortschritt", "--teilweise")
        assert lauf.returncode == 0, lauf.stderr
        assert int(re.search(r"(\d+) neu", lauf.stdout).group(1)) >= 200, lauf.stdout
    suche = cli(url, "wissen", "suche", "--json", eingabe="Wo kann ich einen Deutschkurs machen?\n")
    assert suche.returncode == 0 and '"treffer"' in suche.stdout

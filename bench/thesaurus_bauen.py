"""Builds wissensdatenbank/suche/thesaurus.tsv from OpenThesaurus (development time only).

    apt-get install -y openthesaurus-de-text
    .venv/bin/python bench/thesaurus_bauen.py [/usr/share/openthesaurus-de/openthesaurus.txt]

Keeps synonym sets of single words (annotations such as "(ugs.)" removed, phrases dropped), restricted to
words that are not too frequent (wordfreq zipf < ZIPF_MAX: frequent words are ambiguous and would drift the
query) and to sets of at most SATZ_MAX words (big sets are loose associations). One set per line,
tab-separated, in the original spelling. The output is a derived work of OpenThesaurus and stays under
its licence (LGPL-2.1), stated in the file header.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from wordfreq import zipf_frequency

QUELLE = Path("/usr/share/openthesaurus-de/openthesaurus.txt")
ZIEL = Path(__file__).resolve().parent.parent / "wissensdatenbank" / "suche" / "thesaurus.tsv"
ZIPF_MAX = 5.0
SATZ_MAX = 12
KOPF = """# Synonym sets derived from OpenThesaurus (http://www.openthesaurus.de),
# Copyright (C) Daniel Naber and contributors, licensed under the GNU LGPL 2.1 or later
# (https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html). Filtered by bench/thesaurus_bauen.py:
# single words only, wordfreq zipf < {zipf}, at most {satz} words per set. One set per line, tab-separated.
"""


def main() -> None:
    quelle = Path(sys.argv[1]) if len(sys.argv) > 1 else QUELLE
    saetze: list[list[str]] = []
    gesehen: set[tuple[str, ...]] = set()
    for zeile in quelle.read_text(encoding="utf-8").splitlines():
        if not zeile or zeile.startswith("#"):
            continue
        woerter = []
        for w in zeile.split(";"):
            w = re.sub(r"\([^)]*\)", "", w).strip()
            if not w or " " in w or "-" in w or not w.isalpha() or len(w) < 3:
                continue
            if zipf_frequency(w, "de") >= ZIPF_MAX:
                continue
            if w not in woerter:
                woerter.append(w)
        if 2 <= len(woerter) <= SATZ_MAX:
            key = tuple(sorted(woerter))
            if key not in gesehen:
                gesehen.add(key)
                saetze.append(woerter)
    ZIEL.write_text(
        KOPF.format(zipf=ZIPF_MAX, satz=SATZ_MAX) + "".join("\t".join(s) + "\n" for s in saetze), encoding="utf-8"
    )
    print(f"{len(saetze)} Synonymsätze -> {ZIEL}")


if __name__ == "__main__":
    main()

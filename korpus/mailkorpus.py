"""The real-world mail corpus (../shared/data/mail-corpus) through our receiving pipeline, compared with the
expected values that ship with it. Used by korpus/test_mail_korpus.py and bench/email.py.

Expected values and how they are compared (see the corpus' PROVENANCE.md for their origin):

* Zammad `mailNNN.yml` (Zammad 5.2.2's own parse results): `from_email`, `from_display_name` and `subject` must
  agree exactly with our parser (the address as written, not lower-cased). The body is compared loosely: Zammad
  keeps HTML for HTML mails and re-wraps text, so both sides are reduced to lower-case words (HTML turned into
  text first) and at least 80 % of the first 60 words of Zammad's body must occur among our body's words.
  A handful of Zammad values are Zammad quirks, not parse results we want (e.g. UTF-7 left undecoded); they are
  listed in ABWEICHUNGEN with the reason and counted as not matching.
* Sisimai `EXPECTED.csv`: kind bounce / auto-reply / feedback-report / not-a-bounce must agree with our class
  (bounce ↔ bounce; Sisimai also reports delay notices as soft bounces, so our "verzoegerung" counts as bounce
  here; auto-reply ↔ abwesenheit or autoreply; feedback-report ↔ feedback; not-a-bounce ↔ anything but bounce),
  and for bounces `hardbounce` must agree with our hard/soft decision. One value per message (index 1 row).
* Bounce parser `EXPECTED.csv`: `is_bounce` must agree (BounceParser counts delay warnings, challenge/response and
  vacation replies as not bounces).
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kanaele.email.parsen import html_zu_text, parsen

# Zammad values we knowingly do not reproduce (file, field): reason.
ABWEICHUNGEN = {
    ("zammad/mail018.box", "subject"): "Zammad leaves the UTF-7 word '+ANw-' undecoded; we decode it to 'Ü'",
    ("zammad/mail027.box", "subject"): "Zammad keeps a leading CRLF of a folded encoded-word; we unfold it",
    ("zammad/mail046.box", "from_display_name"): "Zammad's value is Windows-1250 mojibake; we decode GB2312",
    ("zammad/mail076.box", "from_email"): "Zammad keeps the '>' of a malformed address in the address",
    ("zammad/mail076.box", "from_display_name"): "Zammad splits a malformed address inside the quoted name",
    ("zammad/mail087.box", "from_display_name"): "Zammad repeats the malformed address as the name",
}


class _Loader(yaml.SafeLoader):
    pass


def _ruby(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _ruby)


def nachrichten(korpus: Path) -> list[dict[str, str]]:
    with open(korpus / "INDEX.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"


def _woerter(text: str) -> list[str]:
    """Words of two or more letters; scripts without spaces (CJK) count character by character."""
    return re.findall(rf"[{_CJK}]|[^\W\d_{_CJK}]{{2,}}", text.lower())


@dataclass
class Vergleich:
    quelle: str
    datei: str
    feld: str
    erwartet: str
    ist: str
    ok: bool


@dataclass
class KorpusErgebnis:
    n: int = 0
    abstuerze: int = 0
    fehler_status: list[str] = field(default_factory=list)
    vergleiche: list[Vergleich] = field(default_factory=list)
    klassen: dict[str, str] = field(default_factory=dict)
    sekunden: float = 0.0

    @property
    def erwartet_n(self) -> int:
        return len(self.vergleiche)

    @property
    def erwartet_ok(self) -> int:
        return sum(v.ok for v in self.vergleiche)

    def nach_quelle(self) -> dict[str, tuple[int, int]]:
        aus: dict[str, tuple[int, int]] = {}
        for v in self.vergleiche:
            ok, n = aus.get(v.quelle, (0, 0))
            aus[v.quelle] = (ok + v.ok, n + 1)
        return aus


def _zammad(korpus: Path, zeile: dict, roh: bytes) -> list[Vergleich]:
    erwartet = yaml.load((korpus / zeile["expected_file"]).read_text(encoding="utf-8"), Loader=_Loader) or {}
    m = parsen(roh)
    aus = []
    for feld, ist in (("from_email", m.von_adresse_original or ""), ("from_display_name", m.von_name or ""),
                      ("subject", m.betreff or "")):
        if feld not in erwartet:
            continue
        soll = "" if erwartet[feld] is None else str(erwartet[feld])
        aus.append(Vergleich("zammad", zeile["path"], feld, soll, ist, soll == ist))
    if erwartet.get("body"):
        soll = str(erwartet["body"])
        if soll.strip() == "no visible content":  # Zammad's placeholder for an empty body
            soll = ""
        if "html" in str(erwartet.get("content_type", "")) or re.search(r"<(div|p|br|span|img|table|a)\b", soll):
            soll = html_zu_text(soll)
        soll_w = _woerter(soll)[:60]
        # Our readable body is the text part, or the HTML part where Zammad chose that one.
        ist_w = set(_woerter(m.text or "")) | set(_woerter(html_zu_text(m.html) if m.html else ""))
        anteil = sum(w in ist_w for w in soll_w) / len(soll_w) if soll_w else 1.0
        aus.append(Vergleich("zammad", zeile["path"], "body~", f"{len(soll_w)} Wörter", f"{anteil:.0%}",
                             anteil >= 0.8))
    return aus


def _sisimai(korpus: Path, klassen: dict[str, str], bounces: dict[str, bool | None]) -> list[Vergleich]:
    aus = []
    with open(korpus / "sisimai/EXPECTED.csv", encoding="utf-8") as f:
        for z in csv.DictReader(f):
            if z["index"] not in ("1", ""):
                continue
            pfad = "sisimai/" + z["file"]
            klasse = klassen.get(pfad, "?")
            art = z["kind"]
            if art == "bounce":
                ok = klasse in ("bounce", "verzoegerung")
            elif art == "auto-reply":
                ok = klasse in ("abwesenheit", "autoreply")
            elif art == "feedback-report":
                ok = klasse == "feedback"
            else:
                ok = klasse != "bounce"
            aus.append(Vergleich("sisimai", pfad, "kind", art, klasse, ok))
            if art == "bounce" and z["hardbounce"] in ("true", "false"):
                hart = bounces.get(pfad)
                soll = z["hardbounce"] == "true"
                aus.append(Vergleich("sisimai", pfad, "hardbounce", str(soll).lower(),
                                     "?" if hart is None else str(hart).lower(), hart is not None and hart == soll))
    return aus


def _bounceparser(korpus: Path, klassen: dict[str, str]) -> list[Vergleich]:
    aus = []
    with open(korpus / "bounceparser/EXPECTED.csv", encoding="utf-8") as f:
        for z in csv.DictReader(f):
            pfad = "bounceparser/" + z["file"]
            klasse = klassen.get(pfad, "?")
            soll = z["is_bounce"] == "1"
            aus.append(Vergleich("bounceparser", pfad, "is_bounce", str(soll).lower(), klasse,
                                 (klasse == "bounce") == soll))
    return aus


def durchlaufen(korpus_mail: Path, annehmen: Callable[[bytes], object],
                ergebnis_lesen: Callable[[object], tuple[str, str | None, bool | None]]) -> KorpusErgebnis:
    """Feed every message through `annehmen` (the pipeline); `ergebnis_lesen` returns (status, class, hard)
    for what `annehmen` returned. Then compare with the expected values."""
    ergebnis = KorpusErgebnis()
    bounces: dict[str, bool | None] = {}
    start = time.perf_counter()
    zeilen = nachrichten(korpus_mail)
    for zeile in zeilen:
        roh = (korpus_mail / zeile["path"]).read_bytes()
        ergebnis.n += 1
        try:
            r = annehmen(roh)
            status, klasse, hart = ergebnis_lesen(r)
        except Exception as exc:  # noqa: BLE001 - counted as a crash, the run goes on
            ergebnis.abstuerze += 1
            ergebnis.fehler_status.append(f"{zeile['path']}: {type(exc).__name__}: {exc}")
            continue
        if status == "fehler":
            ergebnis.abstuerze += 1
            ergebnis.fehler_status.append(f"{zeile['path']}: status fehler")
        ergebnis.klassen[zeile["path"]] = klasse or "?"
        bounces[zeile["path"]] = hart
    ergebnis.sekunden = time.perf_counter() - start
    for zeile in zeilen:
        if zeile["source"] == "zammad" and zeile["has_expected"] == "yes":
            ergebnis.vergleiche += _zammad(korpus_mail, zeile, (korpus_mail / zeile["path"]).read_bytes())
    ergebnis.vergleiche += _sisimai(korpus_mail, ergebnis.klassen, bounces)
    ergebnis.vergleiche += _bounceparser(korpus_mail, ergebnis.klassen)
    return ergebnis


def pipeline_lauf(korpus_mail: Path, url: str, settings) -> KorpusErgebnis:
    """The corpus through a MailVerarbeitung on the database at `url` (demo catalogue loaded)."""
    from kanaele.email.models import MailEingang
    from kanaele.email.pipeline import MailVerarbeitung
    from servicecenter.db import make_engine, make_sessionmaker
    from wissensdatenbank.service import Wissensdatenbank

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    wdb = Wissensdatenbank(sessions, sync_intervall=3600)
    wdb.aufbauen()
    v = MailVerarbeitung(sessions, wdb, settings)
    hart_je_eingang: dict[int, bool | None] = {}

    # Two pipeline changes for the comparison, both through the pipeline's own list: a step after the detection
    # remembers the hard/soft decision (a bounce of a mail that is not ours is never matched to a ticket, so
    # nothing else records it), and de-duplication is off because the corpus holds the same Sisimai message
    # three times (LF, CRLF, CR line endings) on purpose; each copy must be classified.
    from kanaele.email import pipeline as p

    def merken(ctx) -> None:
        # A delay notice is never a hard bounce.
        hart_je_eingang[ctx.eingang.id] = ctx.bounce.hart if ctx.bounce is not None else (
            False if ctx.klasse == "verzoegerung" else None)

    schritte = [s for s in p.PIPELINE if s[0] != "duplikat"]
    i = [n for n, _ in schritte].index("automatik") + 1
    v.pipeline = [*schritte[:i], ("merken", merken), *schritte[i:]]

    def lesen(eingang_id) -> tuple[str, str | None, bool | None]:
        with sessions() as s:
            e = s.get(MailEingang, eingang_id)
            return e.status, e.klasse, hart_je_eingang.get(eingang_id)

    try:
        return durchlaufen(korpus_mail, lambda roh: v.annehmen(roh, quelle="cli"), lesen)
    finally:
        engine.dispose()

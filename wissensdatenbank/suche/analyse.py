"""German analyzer: normalisation, stopwords, stemming, decompounding, synonyms, typo candidates.

Pipeline for a text: NFKC -> casefold -> umlaut folding (ä->ae, ö->oe, ü->ue, ß->ss) -> word tokens ->
stopwords removed -> Snowball German stem (PyStemmer). Compound words additionally yield the stems of
their parts (Koehn/Knight style splitter over a vocabulary made of the indexed documents plus the
wordfreq German word list, which ships its data inside the wheel, so nothing is downloaded).
Queries also read separable verbs joined ("ich melde mich um" -> ummelden, "wir wandern nach Kanada aus" ->
auswandern) when the index knows the joined word; on OMoS-QA train/dev this changed nothing, on the demo
catalogue it found "Wohnsitz abmelden" for "Ich wandere nach Kanada aus und muss mich abmelden".
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

import Stemmer
import yaml

_WORT = re.compile(r"[^\W_]+", re.UNICODE)

# Function words and question phrasing that carry no topic (folded spelling).
STOPWOERTER = frozenset(
    """
    a ab aber alle allem allen aller alles als also am an ander andere anderen anders auch auf aus bei beim
    bin bis bitte bist da dabei dadurch dafuer dagegen daher damit dann dar daran darauf daraus darf darfst
    darin darueber darum das dass dein deine deinem deinen deiner dem den denn der deren des dessen deshalb
    dich die dies diese diesem diesen dieser dieses dir doch dort du durch eigentlich ein eine einem einen
    einer eines einmal er es etwa etwas euch euer eure fuer gab gibt gegen gewesen gilt habe haben hat hatte
    hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in indem ins ist ja je jede jedem
    jeden jeder jedes jemand jetzt kann kannst koennen koennte kein keine keinem keinen keiner man manche
    mehr mein meine meinem meinen meiner mich mir mit moechte moechten muss muessen musst nach nachdem nein
    nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seit sich sie sind so solche
    soll sollen sollte sonst sowie um und uns unser unsere unter viel vom von vor waehrend war waren warum
    was weil welche welchem welchen welcher welches wem wen wenn wer werde werden wessen wie wieder will wir
    wird wirst wo wobei woher wohin womit worauf wurde wurden zu zum zur zwar zwischen ueber gerne genau
    bekomme bekommt erhalte erhaelt tun mache machen macht gehe geht brauche braucht benoetige benoetigt
    wieso weshalb wann welchen dort hallo guten tag danke
    """.split()
)

_STEMMER = Stemmer.Stemmer("german")
_STEM_LOCK = threading.Lock()
_stem_cache: dict[str, str] = {}


def normalisieren(text: str) -> str:
    """NFKC, case folding and umlaut folding; the canonical spelling of every token."""
    t = unicodedata.normalize("NFKC", text).casefold()
    if not t.isascii():
        t = t.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return t


def woerter(text: str) -> list[str]:
    """Normalised word tokens (with stopwords)."""
    return _WORT.findall(normalisieren(text))


# Separable verb particles ("ich melde mich um", "wir wandern nach Kanada aus"): at the end of a clause the
# particle belongs to the verb before it (ummelden, auswandern).
PARTIKEL = frozenset("ab an auf aus bei ein fest her hin los mit nach um vor weg zu zurueck".split())
_SATZGRENZE = re.compile(r"[.,;:!?()\n]|\b(?:und|oder|aber|sondern|denn|weil|dass|daß|wenn|damit|obwohl|als)\b",
                         re.IGNORECASE)


def trennbare_verben(text: str) -> dict[str, list[str]]:
    """Word -> particle + word, for every word of a clause that ends in a separable particle ("ich melde mich
    um" -> {"melde": ["ummelde"]}). Callers keep only readings their vocabulary knows."""
    aus: dict[str, list[str]] = {}
    for teil in _SATZGRENZE.split(text):
        w = woerter(teil)
        if len(w) < 2 or w[-1] not in PARTIKEL:
            continue
        for x in w[:-1]:
            if x not in STOPWOERTER and x.isalpha() and len(x) >= 3:
                aus.setdefault(x, []).append(w[-1] + x)
    return aus


def stamm(wort: str) -> str:
    s = _stem_cache.get(wort)
    if s is None:
        with _STEM_LOCK:  # PyStemmer objects are not thread-safe
            s = _STEMMER.stemWord(wort)
        if len(_stem_cache) < 2_000_000:
            _stem_cache[wort] = s
    return s


# ---------------------------------------------------------------------------------------------
# Decompounding

_FUGEN = ("", "s", "es", "n", "en", "e", "er")
MIN_TEIL = 4
MIN_KOMPOSITUM = 8


class Zerleger:
    """Splits compounds into known words. Vocabulary: general German (wordfreq) + indexed words."""

    def __init__(self) -> None:
        self._freq: dict[str, float] = {}
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ...]] = {}
        try:
            from wordfreq import get_frequency_dict

            for w, f in get_frequency_dict("de").items():
                if len(w) >= MIN_TEIL and w.isalpha() and f > 1e-6 and w not in STOPWOERTER:
                    k = normalisieren(w)
                    self._freq[k] = max(self._freq.get(k, 0.0), f)
        except Exception:  # pragma: no cover - wordfreq is optional
            pass

    def lernen(self, woerter_: list[str]) -> None:
        """Adds words of indexed documents to the vocabulary (small pseudo frequency)."""
        with self._lock:
            for w in woerter_:
                if len(w) >= MIN_TEIL and w.isalpha() and w not in self._freq:
                    self._freq[w] = 1e-7  # zipf 2
            self._cache.clear()

    def _f(self, w: str) -> float:
        return self._freq.get(w, 0.0)

    def zerlegen(self, wort: str) -> tuple[str, ...]:
        """Parts of a compound (finest split), or () if the word is not split."""
        if len(wort) < MIN_KOMPOSITUM or not wort.isalpha():
            return ()
        r = self._cache.get(wort)
        if r is not None:
            return r
        r = self._zerlegen(wort, 0)
        r = tuple(r) if r and len(r) > 1 else ()
        if len(self._cache) < 500_000:
            self._cache[wort] = r
        return r

    def _zerlegen(self, wort: str, tiefe: int) -> list[str] | None:
        # Dynamic programme over split points: every part must be a known word (>= MIN_TEIL letters),
        # optionally followed by a linking element (Fugen-s etc.). Part score = zipf - 3.5, so frequent
        # parts win and rare ones cost; the unsplit word competes with its own score.
        n = len(wort)
        best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for p in range(n):
            if best[p] is None:
                continue
            basis, teile = best[p]
            for q in range(p + MIN_TEIL, n + 1):
                f = self._f(wort[p:q])
                if f <= 0:
                    continue
                s = basis + math.log10(f * 1e9) - 3.5 - (0.3 if q - p <= MIN_TEIL else 0.0)  # short parts are often spurious
                for fuge in _FUGEN:
                    e = q + len(fuge)
                    if e > n or (fuge and (q == n or wort[q:e] != fuge)):
                        continue
                    # each part after the first costs 0.5: a split must clearly beat the whole word
                    s2 = s - (0.3 if fuge else 0.0) - (0.5 if p > 0 else 0.0)
                    if best[e] is None or s2 > best[e][0]:
                        best[e] = (s2, teile + [wort[p:q]])
        r = best[n]
        return r[1] if r is not None else None


_ZERLEGER: Zerleger | None = None
_ZL_LOCK = threading.Lock()


def zerleger() -> Zerleger:
    global _ZERLEGER
    with _ZL_LOCK:
        if _ZERLEGER is None:
            _ZERLEGER = Zerleger()
        return _ZERLEGER


# ---------------------------------------------------------------------------------------------
# Synonyms

SYNONYM_DATEI = Path(__file__).with_name("synonyme.yaml")


@lru_cache(maxsize=4)
def synonyme(pfad: str = str(SYNONYM_DATEI)) -> dict[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Maps a normalised word sequence to the other members of its group (as word sequences)."""
    daten = yaml.safe_load(Path(pfad).read_text(encoding="utf-8")) or {}
    tabelle: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for gruppe in daten.get("gruppen", []):
        glieder = [tuple(woerter(g)) for g in gruppe]
        glieder = [g for g in glieder if g]
        for g in glieder:
            andere = [h for h in glieder if h != g]
            tabelle.setdefault(g, [])
            for h in andere:
                if h not in tabelle[g]:
                    tabelle[g].append(h)
    return {k: tuple(v) for k, v in tabelle.items()}


# ---------------------------------------------------------------------------------------------
# Token streams


def feld_terme(text: str, zl: Zerleger | None = None) -> list[str]:
    """Index terms of a field: stems of content words, followed by stems of compound parts."""
    zl = zl or zerleger()
    out: list[str] = []
    teile: list[str] = []
    for w in woerter(text):
        if w in STOPWOERTER or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stamm(w))
        for t in zl.zerlegen(w):
            teile.append(stamm(t))
    return out + teile


def saetze(text: str) -> list[str]:
    """Rough sentence split (lines and sentence punctuation)."""
    teile = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [t for t in (s.strip() for s in teile) if t]

"""In-process search index: fielded BM25 candidates, learned linear fusion of re-ranking features.

Stages per query:
1. Query analysis (analyse.py): stems of content words grouped per query word, plus compound parts,
   synonym expansions (synonyme.yaml) and typo corrections (rapidfuzz against the indexed words that start
   with the same letter; only for words the index does not know and that have no synonym).
2. Candidates: fielded BM25 (name, suchbegriffe, bezeichnung, text; one sparse CSC matrix per field
   holding the saturated term frequencies, idf applied at query time) summed with fixed field weights
   (KANDIDATEN_GEWICHT); the top KANDIDATEN rows go on, after the region filter.
3. Re-ranking: MERKMALE per candidate (per-field BM25, idf-weighted query-word coverage over the document,
   over the title fields, over the best sentence and by 6-letter stem prefix, query bigrams found
   adjacently, best-sentence tf-idf cosine, fuzzy title similarity, candidate rank, length, and "aehnlich":
   indexed words spelled like a query word, same first AEHNLICH_PRAEFIX letters, rapidfuzz ratio >= 60,
   a cheap word-level stand-in for character n-grams), each also standardised over the query's candidates
   (z-score), combined linearly with the weights in gewichte.json. The z-copies gave +1.6 points hit@1 and
   hit@5 in 5-fold cross-validation on OMoS train+dev (0.587/0.817 -> 0.602/0.832), as much as fusing a
   character 3-5-gram TF-IDF, without its memory; thesaurus expansion, window BM25, query likelihood and
   more candidates added nothing on top. The weights come from a logistic regression on the
   candidates of the OMoS-QA TRAIN questions (bench/_omos.py --trainieren; C chosen on DEV). OMoS pages
   have no suchbegriffe/bezeichnung, so those two weights are tied to the name weight (1.0x and 0.7x).

Konfidenz (calibration, also in bench/_omos.py): a second logistic regression estimates P(top hit is
right) from (top score, margin to #2, coverage of #1 over the document and over its title fields). It is
fitted on the top hits of the OMoS-QA train questions plus the demo-catalogue questions of fragen-dev
(both sources weighted equally, because the catalogue has title fields OMoS lacks). The "sicher" threshold
is the smallest one at which "sicher" is right >= 92 % on EACH dev set (OMoS dev and fragen-dev
separately; 92 % leaves a margin over the 90 % target). Measured: OMoS dev 17 % of answers "sicher" at
94 % precision, fragen-dev 80 % "sicher" at 100 %. "kein Treffer" when the top hit covers less than a third
of the query's idf mass, when half of the query's idf mass is words the index does not know (unless P is
at or above the "sicher" threshold), or when
P < 0.2 ("asdf qwertz", "Wie wird das Wetter morgen?"). A query with no indexed word at all returns an
empty list (callers treat that as "kein Treffer"). Hits after the first are never "sicher".

Incremental updates: a main segment plus a small delta segment (its matrices are rebuilt on every
setzen, which is cheap while it is small) and tombstones; the delta is merged into a new main segment
once it exceeds max(DELTA_MAX, 5 % of the main segment); a merge rebuilds the matrices from the stored
analyses (no re-analysis; about 5-10 s at 100,000 docs, holding the lock). Document frequencies are kept exact; the
average field lengths lag until a merge. One RLock serialises all operations (searches are ~5-20 ms).
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz, process

from wissensdatenbank.suche import analyse
from wissensdatenbank.suche.typen import KEIN_TREFFER, SICHER, UNSICHER, SuchDokument, SuchTreffer

FELDER = ("name", "such", "bez", "text")
K1 = 1.2
B = {"name": 0.3, "such": 0.3, "bez": 0.3, "text": 0.75}
KANDIDATEN_GEWICHT = {"name": 3.0, "such": 2.0, "bez": 1.5, "text": 1.0}
KANDIDATEN = 80
DELTA_MAX = 1000
PRAEFIX = 6
# soft spelling match: indexed words with the same first letters and rapidfuzz ratio >= AEHNLICH_MIN
# (Weiterbildungskurse ~ Weiterbildung, Fahrradmitnahme ~ Fahrrad): a word-level stand-in for
# character n-gram similarity that needs no per-document n-gram vectors
AEHNLICH_PRAEFIX = 3
AEHNLICH_MIN = 60
AEHNLICH_MAX = 20
GEWICHTE_DATEI = Path(__file__).with_name("gewichte.json")

BASIS_MERKMALE = (
    "bm25_name",
    "bm25_such",
    "bm25_bez",
    "bm25_text",
    "abdeckung",
    "abdeckung_titel",
    "abdeckung_satz",
    "bigramm",
    "fuzzy_titel",
    "rang",
    "laenge",
    "satz_cos",
    "satz_cos_rel",
    "abdeckung_praefix",
    "aehnlich",
)
# every feature also enters standardised over the query's candidates (z-score): scores of different
# queries live on different scales, and the linear ranker learns "better than the other candidates"
MERKMALE = BASIS_MERKMALE + tuple("z_" + m for m in BASIS_MERKMALE)

# Fallback weights (used until gewichte.json exists).
_STANDARD = {
    "gewichte": [1.0, 0.8, 0.5, 0.6, 2.0, 1.0, 1.5, 0.5, 0.5, 0.5, 0.0, 1.0, 0.5, 0.5, 0.5] + [0.0] * 15,
    "achsenabschnitt": -3.0,
    "konfidenz": {"sicher": 0.6, "kein_treffer": 0.15, "a": [0.3, 1.0, 1.0, 1.0], "b": -2.5},
}


@dataclass
class _Dok:
    dok: SuchDokument
    felder: dict[str, np.ndarray]  # term ids per field (stems, then compound parts)
    folge: np.ndarray  # text + name terms in order, for sentences and bigrams
    satz: np.ndarray  # sentence number of each entry in folge
    titel: str  # normalised name + suchbegriffe + bezeichnung (for fuzzy matching)
    zaehlung: dict[str, tuple[np.ndarray, np.ndarray]] | None = None  # delta docs: (terms, counts) per field


@dataclass
class _Anfrage:
    tids: np.ndarray  # term ids
    gewicht: np.ndarray  # weight per term (1 stem, <1 part/synonym/typo)
    gruppe: np.ndarray  # query word (group) of each term
    teil: np.ndarray  # True for compound parts (their coverage adds up inside the group)
    anzahl_teile: np.ndarray
    idf_gruppe: np.ndarray
    bigramme: np.ndarray  # int64 keys of adjacent stem pairs
    text: str  # normalised content words for fuzzy matching
    stämme: frozenset[str]  # whole-word stems (with synonyms, corrections) for highlighting
    teilstämme: frozenset[str]  # stems of the query's compound parts
    unbekannt: float  # idf share of query words without any indexed term
    aehnlich_tids: np.ndarray  # stems of indexed words spelled like a query word (not its own stem)
    aehnlich_wert: np.ndarray  # spelling similarity (0..1) times idf of the stem
    aehnlich_gruppe: np.ndarray  # query word of each similar stem


def _spalten(m: sp.csc_matrix, tids: np.ndarray) -> sp.csr_matrix:
    """Columns tids of m as CSR; terms newer than the matrix give empty columns."""
    innen = tids < m.shape[1]
    if not innen.any():
        return sp.csr_matrix((m.shape[0], len(tids)), dtype=np.float32)
    if innen.all() and m.format == "csc":
        return _spalten_csr(m, tids)
    teil = m[:, np.where(innen, tids, tids[innen][0])].tocsr()
    if not innen.all():
        teil = teil.multiply(innen[None, :].astype(np.float32)).tocsr()
    return teil


def _spalten_csr(m: sp.csc_matrix, tids: np.ndarray) -> sp.csr_matrix:
    """`m[:, tids].tocsr()` read straight from the CSC arrays: the entries of each requested column, ordered by row
    and, within a row, by requested column (the order scipy's conversion gives). scipy's column indexing and
    conversion build and check two intermediate matrices; this runs once per field and query term set, a sixth
    of an uncached search."""
    ip = m.indptr
    anfang = ip[tids]
    laengen = ip[tids + 1] - anfang
    n = int(laengen.sum())
    zeilen_n = m.shape[0]
    if n == 0:
        return sp.csr_matrix((zeilen_n, len(tids)), dtype=m.dtype)
    versatz = np.repeat(anfang - (np.cumsum(laengen) - laengen), laengen)
    pos = versatz + np.arange(n, dtype=versatz.dtype)
    zeilen = m.indices[pos]
    ordnung = np.argsort(zeilen, kind="stable")
    spalten = np.repeat(np.arange(len(tids), dtype=np.int32), laengen)[ordnung]
    indptr = np.zeros(zeilen_n + 1, dtype=np.int32)
    np.cumsum(np.bincount(zeilen, minlength=zeilen_n), out=indptr[1:])
    return sp.csr_matrix((m.data[pos][ordnung], spalten, indptr), shape=(zeilen_n, len(tids)))


def konfidenz_merkmale(s: np.ndarray, X: np.ndarray) -> list[float]:
    """Inputs of the confidence model: top score, margin to #2, coverage of #1 (document, title)."""
    abstand = float(s[0] - s[1]) if len(s) > 1 else 3.0
    return [float(s[0]), min(abstand, 5.0), float(X[0, 4]), float(X[0, 5])]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


class SuchIndex:
    def __init__(self, gewichte: dict | None = None) -> None:
        self._lock = threading.RLock()
        self._zl = analyse.zerleger()
        self._vokabel: dict[str, int] = {}
        self._woerter_nach_anfang: dict[str, list[str]] = {}
        self._woerter_nach_praefix: dict[str, list[str]] = {}  # by first AEHNLICH_PRAEFIX letters
        self._wortstamm: dict[str, str] = {}
        self._wort_cache: dict[str, tuple[int, ...]] = {}
        self._df = np.zeros(1024, dtype=np.int64)
        self._praefix = np.zeros(1024, dtype=np.int32)
        self._praefix_id: dict[str, int] = {}
        self._docs: list[_Dok | None] = []  # by row
        self._row: dict[int, int] = {}  # id -> row
        self._n_main = 0
        self._main: dict[str, sp.csc_matrix] = {}
        self._delta: dict[str, sp.csc_matrix] = {}
        self._avgdl: dict[str, float] = {f: 1.0 for f in FELDER}
        self._lebend = np.zeros(0, dtype=bool)
        self._region_set: list[frozenset[str]] = [frozenset()]
        self._region_id: dict[frozenset[str], int] = {frozenset(): 0}
        self._row_region = np.zeros(0, dtype=np.int32)
        self._folge_flach = np.zeros(0, dtype=np.int32)  # folge of main rows, concatenated
        self._satz_flach = np.zeros(0, dtype=np.int32)
        self._folge_start = np.zeros(1, dtype=np.int64)
        g = gewichte
        if g is None and GEWICHTE_DATEI.exists():
            g = json.loads(GEWICHTE_DATEI.read_text(encoding="utf-8"))
        self._g = g or _STANDARD
        self._w = np.asarray(self._g["gewichte"], dtype=np.float64)
        self._b0 = float(self._g["achsenabschnitt"])
        self._neu_aufbauen([])  # usable (empty) before aufbauen

    # ------------------------------------------------------------------ building

    def _tid(self, term: str) -> int:
        t = self._vokabel.get(term)
        if t is None:
            t = len(self._vokabel)
            self._vokabel[term] = t
            if t >= len(self._df):
                self._df = np.concatenate([self._df, np.zeros(len(self._df), dtype=np.int64)])
                self._praefix = np.concatenate([self._praefix, np.zeros(len(self._praefix), dtype=np.int32)])
            # prefix class of the stem (first PRAEFIX letters): catches derivations the stemmer keeps apart
            p = term[:PRAEFIX]
            pid = self._praefix_id.get(p)
            if pid is None:
                pid = len(self._praefix_id)
                self._praefix_id[p] = pid
            self._praefix[t] = pid
        return t

    def _merke_wort(self, w: str, s: str) -> None:
        if len(w) >= 4 and w.isalpha() and w not in self._wortstamm:
            self._wortstamm[w] = s
            self._woerter_nach_anfang.setdefault(w[:1], []).append(w)
            self._woerter_nach_praefix.setdefault(w[:AEHNLICH_PRAEFIX], []).append(w)

    def _wort(self, w: str) -> tuple[int, ...]:
        """Term ids of one normalised word: its stem, then its compound parts; () for stopwords."""
        e = self._wort_cache.get(w)
        if e is None:
            if w in analyse.STOPWOERTER or (len(w) < 2 and not w.isdigit()):
                e = ()
            else:
                s = analyse.stamm(w)
                self._merke_wort(w, s)
                e = (self._tid(s), *(self._tid(analyse.stamm(t)) for t in self._zl.zerlegen(w)))
            self._wort_cache[w] = e
        return e

    def _terme(self, text: str) -> list[int]:
        out: list[int] = []
        teile: list[int] = []
        cache = self._wort_cache
        for w in analyse.woerter(text):
            e = cache.get(w)
            if e is None:
                e = self._wort(w)
            if e:
                out.append(e[0])
                if len(e) > 1:
                    teile.extend(e[1:])
        return out + teile

    def _analysieren(self, d: SuchDokument) -> _Dok:
        felder = {
            "name": np.asarray(self._terme(d.name), dtype=np.int32),
            "such": np.asarray(self._terme("\n".join(d.suchbegriffe)), dtype=np.int32),
            "bez": np.asarray(self._terme(d.bezeichnung), dtype=np.int32),
        }
        folge: list[int] = list(felder["name"])
        satz: list[int] = [0] * len(folge)
        for i, s in enumerate(analyse.saetze(d.text), start=1):
            t = self._terme(s)
            folge.extend(t)
            satz.extend([i] * len(t))
        felder["text"] = np.asarray(folge[len(felder["name"]) :], dtype=np.int32)
        titel = " ".join(
            w for w in analyse.woerter(" ".join((d.name, d.bezeichnung, *d.suchbegriffe))) if w not in analyse.STOPWOERTER
        )
        return _Dok(d, felder, np.asarray(folge, dtype=np.int32), np.asarray(satz, dtype=np.int32), titel)

    def _df_aendern(self, a: _Dok, delta: int) -> None:
        u = np.unique(np.concatenate([a.felder[f] for f in FELDER]))
        if len(u):
            self._df[u] += delta

    @staticmethod
    def _zaehlen(a: _Dok, feld: str) -> tuple[np.ndarray, np.ndarray]:
        if a.zaehlung is not None:
            return a.zaehlung[feld]
        return np.unique(a.felder[feld], return_counts=True)

    def _matrix(self, docs: list[_Dok | None], feld: str, ncols: int, avgdl: float) -> sp.csc_matrix:
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        cnts: list[np.ndarray] = []
        laengen: list[int] = []
        for r, a in enumerate(docs):
            if a is None or not len(a.felder[feld]):
                continue
            u, c = self._zaehlen(a, feld)
            rows.append(np.full(len(u), r, dtype=np.int32))
            cols.append(u)
            cnts.append(c)
            laengen.append(len(a.felder[feld]))
        if not rows:
            return sp.csc_matrix((len(docs), ncols), dtype=np.float32)
        b = B[feld]
        c = np.concatenate(cnts).astype(np.float32)
        norm = np.repeat(K1 * (1 - b + b * np.asarray(laengen, dtype=np.float32) / avgdl), [len(x) for x in cnts])
        werte = (c * (K1 + 1) / (c + norm)).astype(np.float32)
        del c, norm, cnts
        return sp.csc_matrix((werte, (np.concatenate(rows), np.concatenate(cols))), shape=(len(docs), ncols), dtype=np.float32)

    def _region_nr(self, r: frozenset[str]) -> int:
        n = self._region_id.get(r)
        if n is None:
            n = len(self._region_set)
            self._region_set.append(r)
            self._region_id[r] = n
        return n

    def _neu_aufbauen(self, analysen: list[_Dok]) -> None:
        """Builds a fresh main segment from analysed documents (no delta)."""
        self._docs = list(analysen)
        self._row = {a.dok.id: i for i, a in enumerate(analysen)}
        self._n_main = len(analysen)
        self._lebend = np.ones(len(analysen), dtype=bool)
        self._row_region = np.asarray([self._region_nr(a.dok.regionen) for a in analysen], dtype=np.int32)
        ncols = len(self._vokabel)
        self._main = {}  # free the old segment first (lower peak memory during a merge)
        self._delta = {}
        for f in FELDER:
            laengen = [len(a.felder[f]) for a in analysen]
            self._avgdl[f] = max(1.0, float(np.mean(laengen))) if laengen else 1.0
            self._main[f] = self._matrix(analysen, f, ncols, self._avgdl[f])
            self._delta[f] = sp.csc_matrix((0, ncols), dtype=np.float32)
        if analysen:
            self._folge_flach = np.concatenate([a.folge for a in analysen]).astype(np.int32)
            self._satz_flach = np.concatenate([a.satz for a in analysen]).astype(np.int32)
            self._folge_start = np.concatenate([[0], np.cumsum([len(a.folge) for a in analysen])]).astype(np.int64)
            leer = np.zeros(0, dtype=np.int32)
            for a in analysen:  # main rows read their sequence from the flat arrays
                a.folge = leer
                a.satz = leer
        else:
            self._folge_flach = np.zeros(0, dtype=np.int32)
            self._satz_flach = np.zeros(0, dtype=np.int32)
            self._folge_start = np.zeros(1, dtype=np.int64)

    def aufbauen(self, dokumente: Iterable[SuchDokument]) -> None:
        doks = {d.id: d for d in dokumente}  # last one wins for duplicate ids
        woerter: set[str] = set()
        for d in doks.values():
            woerter.update(analyse.woerter(" ".join((d.name, d.bezeichnung, *d.suchbegriffe))))
        self._zl.lernen(sorted(woerter))
        with self._lock:
            self._vokabel = {}
            self._wortstamm = {}
            self._wort_cache = {}
            self._woerter_nach_anfang = {}
            self._woerter_nach_praefix = {}
            self._df = np.zeros(1024, dtype=np.int64)
            self._praefix = np.zeros(1024, dtype=np.int32)
            self._praefix_id = {}
            analysen = [self._analysieren(d) for d in doks.values()]
            for a in analysen:
                self._df_aendern(a, +1)
            self._neu_aufbauen(analysen)

    def _delta_neu(self) -> None:
        ncols = len(self._vokabel)
        delta_docs = self._docs[self._n_main :]
        for f in FELDER:
            self._delta[f] = self._matrix(delta_docs, f, ncols, self._avgdl[f])

    def setzen(self, dokument: SuchDokument) -> None:
        with self._lock:
            self._entfernen(dokument.id, delta_neu=False)
            a = self._analysieren(dokument)
            a.zaehlung = {f: np.unique(a.felder[f], return_counts=True) for f in FELDER}
            self._df_aendern(a, +1)
            self._row[dokument.id] = len(self._docs)
            self._docs.append(a)
            self._lebend = np.append(self._lebend, True)
            self._row_region = np.append(self._row_region, np.int32(self._region_nr(dokument.regionen)))
            if len(self._docs) - self._n_main > max(DELTA_MAX, self._n_main // 20):
                self._zusammenfuehren()
            else:
                self._delta_neu()

    def _entfernen(self, id: int, delta_neu: bool) -> None:
        r = self._row.pop(id, None)
        if r is None:
            return
        a = self._docs[r]
        if a is not None:
            self._df_aendern(a, -1)
        self._docs[r] = None
        self._lebend[r] = False
        if r >= self._n_main and delta_neu:
            self._delta_neu()

    def entfernen(self, id: int) -> None:
        with self._lock:
            self._entfernen(id, delta_neu=True)

    def _zusammenfuehren(self) -> None:
        for r in range(self._n_main):
            a = self._docs[r]
            if a is not None:
                a.folge, a.satz = self._folge(r)
        lebend = [a for a in self._docs if a is not None]
        for a in lebend:
            a.zaehlung = None
        self._neu_aufbauen(lebend)

    def __len__(self) -> int:
        with self._lock:
            return len(self._row)

    # ------------------------------------------------------------------ query analysis

    def _idf(self, tids: np.ndarray) -> np.ndarray:
        n = max(1, len(self._row))
        df = self._df[tids].astype(np.float64)
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _tippfehler(self, w: str) -> list[str]:
        kandidaten = self._woerter_nach_anfang.get(w[:1], [])
        if not kandidaten:
            return []
        treffer = process.extract(w, kandidaten, scorer=fuzz.ratio, limit=3, score_cutoff=84)
        treffer = [t for t in treffer if abs(len(t[0]) - len(w)) <= 2]
        # only the best correction (and exact ties): a second-best word is usually a different word
        return [t[0] for t in treffer if t[1] >= treffer[0][1] - 0.5] if treffer else []

    def _anfrage(self, frage: str) -> _Anfrage:
        woerter = [w for w in analyse.woerter(frage) if w not in analyse.STOPWOERTER and (len(w) >= 2 or w.isdigit())]
        syn = analyse.synonyme()
        tids: list[int] = []
        gew: list[float] = []
        grp: list[int] = []
        teil: list[bool] = []
        gruppen_teile: list[int] = []
        idf_g: list[float] = []
        staemme: list[str] = []
        teilstaemme: list[str] = []
        stamm_tid: list[int] = []
        max_idf = math.log(1.0 + (max(1, len(self._row)) + 0.5) / 0.5)
        unbekannt = 0.0

        def dazu(term: str, w: float, g: int, ist_teil: bool = False) -> bool:
            t = self._vokabel.get(term)
            if t is None or self._df[t] <= 0:
                return False
            for i in range(len(tids)):  # same term twice in a group: keep the higher weight
                if tids[i] == t and grp[i] == g:
                    if w > gew[i] and teil[i] == ist_teil:
                        gew[i] = w
                    return True
            tids.append(t)
            gew.append(w)
            grp.append(g)
            teil.append(ist_teil)
            return True

        # multi-word synonym keys are matched on the word sequence
        erweiterungen: dict[int, list[tuple[str, ...]]] = {}
        for laenge in (3, 2, 1):
            for i in range(len(woerter) - laenge + 1):
                k = tuple(woerter[i : i + laenge])
                if k in syn:
                    erweiterungen.setdefault(i, []).extend(syn[k])
        syn_treffer = {(woerter[g], g) for g in erweiterungen if any(
            self._vokabel.get(analyse.stamm(x)) is not None for f in erweiterungen[g] for x in f)}
        trennbar = analyse.trennbare_verben(frage)
        for g, w in enumerate(woerter):
            s = analyse.stamm(w)
            staemme.append(s)
            gefunden = dazu(s, 1.0, g)
            stamm_tid.append(self._vokabel.get(s, -1) if gefunden else -1)
            korrekturen: list[str] = []
            if not gefunden and (w, g) not in syn_treffer and len(w) >= 5 and w.isalpha():
                # unknown word without synonym: typo correction against the indexed words
                korrekturen = self._tippfehler(w)
            for k in korrekturen:
                ks = self._wortstamm[k]
                if dazu(ks, 0.9, g):
                    staemme.append(ks)
                    gefunden = True
            # separable verb: "wandere ... aus" also reads as "auswandern" (only when the index knows it)
            for verbunden in trennbar.get(w, ()):
                vs = analyse.stamm(verbunden)
                if dazu(vs, 0.8 if gefunden else 1.0, g):
                    staemme.append(vs)
                    gefunden = True
            teile = () if korrekturen else self._zl.zerlegen(w)
            n_teile = 0
            for t in teile:
                if dazu(analyse.stamm(t), 1.0, g, True):
                    n_teile += 1
                teilstaemme.append(analyse.stamm(t))
            gruppen_teile.append(max(1, len(teile)))
            # a synonym is the only reading of a word the index does not know (Perso, Knöllchen)
            syn_gewicht = 0.8 if gefunden or n_teile else 1.0
            for folge in erweiterungen.get(g, []):
                for sw in folge:
                    if sw in analyse.STOPWOERTER:
                        continue
                    ss = analyse.stamm(sw)
                    if dazu(ss, syn_gewicht, g):
                        staemme.append(ss)
                        gefunden = True
            meine = [self._idf(np.asarray([t]))[0] for t, gg in zip(tids, grp, strict=True) if gg == g]
            if meine:
                idf_g.append(float(max(meine)))
            else:
                idf_g.append(max_idf)
                unbekannt += max_idf
        idf_arr = np.asarray(idf_g, dtype=np.float64)
        bigr = [
            stamm_tid[i] * 10_000_000 + stamm_tid[i + 1]
            for i in range(len(stamm_tid) - 1)
            if stamm_tid[i] >= 0 and stamm_tid[i + 1] >= 0
        ]
        # similar spellings per query word (separate feature, never candidates or coverage)
        a_t: dict[tuple[int, int], float] = {}
        for g, w in enumerate(woerter):
            if len(w) < 4 or not w.isalpha():
                continue
            eigene = {t for t, gg in zip(tids, grp, strict=True) if gg == g}
            bucket = self._woerter_nach_praefix.get(w[:AEHNLICH_PRAEFIX])
            if not bucket:
                continue
            for k, sim, _ in process.extract(w, bucket, scorer=fuzz.ratio, limit=AEHNLICH_MAX, score_cutoff=AEHNLICH_MIN):
                t = self._vokabel.get(self._wortstamm[k])
                if t is None or t in eigene or self._df[t] <= 0:
                    continue
                if sim / 100.0 > a_t.get((g, t), 0.0):
                    a_t[(g, t)] = sim / 100.0
        a_tids = np.asarray([t for _, t in a_t], dtype=np.int64)
        a_wert = np.asarray(list(a_t.values()), dtype=np.float64) * (self._idf(a_tids) if len(a_tids) else 1.0)
        return _Anfrage(
            aehnlich_tids=a_tids,
            aehnlich_wert=a_wert,
            aehnlich_gruppe=np.asarray([g for g, _ in a_t], dtype=np.int64),
            tids=np.asarray(tids, dtype=np.int64),
            gewicht=np.asarray(gew, dtype=np.float64),
            gruppe=np.asarray(grp, dtype=np.int64),
            teil=np.asarray(teil, dtype=bool),
            anzahl_teile=np.asarray(gruppen_teile, dtype=np.float64),
            idf_gruppe=idf_arr,
            bigramme=np.asarray(bigr, dtype=np.int64),
            text=" ".join(woerter),
            stämme=frozenset(staemme),
            teilstämme=frozenset(teilstaemme),
            unbekannt=unbekannt / float(idf_arr.sum()) if len(idf_arr) else 1.0,
        )

    # ------------------------------------------------------------------ scoring

    def _feld_matrizen(self, q: _Anfrage) -> dict[str, sp.csr_matrix]:
        """Per field: rows x query-terms matrix of saturated tf (main and delta stacked)."""
        out = {}
        for f in FELDER:
            teil = _spalten(self._main[f], q.tids)
            d = self._delta[f]
            if d.shape[0]:
                teil = sp.vstack([teil, _spalten(d, q.tids)], format="csr")
            if teil.shape[0] < len(self._docs):
                teil = sp.vstack(
                    [teil, sp.csr_matrix((len(self._docs) - teil.shape[0], len(q.tids)), dtype=np.float32)], format="csr"
                )
            out[f] = teil
        return out

    def _folge(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r < self._n_main:
            a, b = self._folge_start[r], self._folge_start[r + 1]
            return self._folge_flach[a:b], self._satz_flach[a:b]
        d = self._docs[r]
        assert d is not None
        return d.folge, d.satz

    def _merkmale(self, q: _Anfrage, mats: dict[str, sp.csr_matrix], kand: np.ndarray, basis: np.ndarray) -> np.ndarray:
        idf_t = self._idf(q.tids) * q.gewicht
        n_g = len(q.idf_gruppe)
        qnorm = float(q.idf_gruppe.sum()) or 1.0
        X = np.zeros((len(kand), len(MERKMALE)), dtype=np.float64)
        nb = len(BASIS_MERKMALE)
        nq = len(q.tids)
        alle_felder = sp.hstack([mats[f] for f in FELDER], format="csr")[kand].toarray()
        dichte = {f: alle_felder[:, i * nq : (i + 1) * nq] for i, f in enumerate(FELDER)}
        for j, f in enumerate(FELDER):
            X[:, j] = dichte[f] @ idf_t / qnorm

        # coverage per query word: a stem/synonym/typo counts with its weight, compound parts add up
        def abdeckung(praesenz: np.ndarray) -> np.ndarray:
            cov = np.zeros((len(kand), n_g))
            for g in range(n_g):
                m = q.gruppe == g
                if not m.any():
                    continue
                ganz = m & ~q.teil
                wert = np.zeros(len(kand))
                if ganz.any():
                    wert = (praesenz[:, ganz] * q.gewicht[ganz]).max(axis=1)
                tm = m & q.teil
                if tm.any():
                    wert = np.maximum(wert, praesenz[:, tm].sum(axis=1) / q.anzahl_teile[g])
                cov[:, g] = wert
            return cov @ q.idf_gruppe / qnorm

        titel = (dichte["name"] + dichte["such"] + dichte["bez"]) > 0
        alle = titel | (dichte["text"] > 0)
        X[:, 4] = abdeckung(alle.astype(np.float64))
        X[:, 5] = abdeckung(titel.astype(np.float64))

        # best sentence and bigrams over the concatenated token sequences of the candidates
        if len(q.tids):
            ordnung = np.argsort(q.tids, kind="stable")
            st = q.tids[ordnung]
            teile = [self._folge(int(r)) for r in kand]
            laengen = np.asarray([len(t[0]) for t in teile])
            if laengen.sum():
                tok = np.concatenate([t[0] for t in teile]).astype(np.int64)
                satz = np.concatenate([t[1] for t in teile]).astype(np.int64)
                ci = np.repeat(np.arange(len(kand)), laengen)
                pos = np.clip(np.searchsorted(st, tok), 0, len(st) - 1)
                hit = st[pos] == tok
                if hit.any():
                    # all query terms equal to the token (a term can sit in several groups)
                    h_ci, h_satz, h_tok = ci[hit], satz[hit], tok[hit]
                    zeilen = []
                    for k in range(len(q.tids)):
                        mk = h_tok == q.tids[k]
                        if mk.any():
                            zeilen.append((h_ci[mk], h_satz[mk], np.full(mk.sum(), k)))
                    c_ = np.concatenate([z[0] for z in zeilen])
                    s_ = np.concatenate([z[1] for z in zeilen])
                    k_ = np.concatenate([z[2] for z in zeilen])
                    # distinct (candidate, sentence, term)
                    smax = int(s_.max()) + 1
                    key = np.unique((c_ * smax + s_) * len(q.tids) + k_)
                    kk = key % len(q.tids)
                    cs = key // len(q.tids)
                    g = q.gruppe[kk]
                    wert = np.where(q.teil[kk], 1.0 / q.anzahl_teile[g], q.gewicht[kk])
                    # per (candidate, sentence, group): max over stems, sum over parts (approximated by sum, capped at 1)
                    key2 = cs * n_g + g
                    u2, inv = np.unique(key2, return_inverse=True)
                    v2 = np.minimum(np.bincount(inv, weights=wert), 1.0) * q.idf_gruppe[u2 % n_g]
                    cs2 = u2 // n_g
                    u3, inv3 = np.unique(cs2, return_inverse=True)
                    satzwert = np.bincount(inv3, weights=v2)
                    best = np.zeros(len(kand))
                    np.maximum.at(best, u3 // smax, satzwert)
                    X[:, 6] = best / qnorm
                if len(q.bigramme):
                    gleich = ci[1:] == ci[:-1]
                    paare = tok[:-1] * 10_000_000 + tok[1:]
                    treffer = gleich & np.isin(paare, q.bigramme)
                    if treffer.any():
                        u, inv = np.unique(np.stack([ci[:-1][treffer], paare[treffer]], axis=1), axis=0, return_inverse=True)
                        anz = np.bincount(u[:, 0], minlength=len(kand))
                        X[:, 7] = anz / len(q.bigramme)
                # best sentence by tf-idf cosine (the name counts as sentence 0)
                smax = int(satz.max()) + 1
                key = ci * smax + satz
                idf_tok = self._idf(tok)
                norm2 = np.bincount(key, weights=idf_tok**2)
                qw = np.zeros(len(tok))
                if hit.any():
                    qgew = np.zeros(len(st))
                    np.maximum.at(qgew, np.arange(len(st)), q.gewicht[ordnung])
                    qw[hit] = qgew[pos[hit]]
                dot = np.bincount(key, weights=idf_tok**2 * qw, minlength=len(norm2))
                qn = math.sqrt(float(((self._idf(q.tids) * q.gewicht) ** 2).sum())) or 1.0
                cos = np.where(norm2 > 0, dot / (np.sqrt(norm2) * qn + 1e-9), 0.0)
                best = np.zeros(len(kand))
                np.maximum.at(best, np.arange(len(norm2)) // smax, cos)
                X[:, 11] = best
                X[:, 12] = best / (best.max() + 1e-9)
                # coverage of query words by prefix class (per candidate, any position)
                qp = self._praefix[q.tids]
                tp = self._praefix[tok]
                nah = np.isin(tp, qp)
                npf = len(self._praefix_id) + 1
                pk = np.unique(ci[nah] * npf + tp[nah])
                cand_of = pk // npf
                pref_of = pk % npf
                cov = np.zeros((len(kand), n_g))
                for k_ in range(len(q.tids)):
                    m_ = pref_of == qp[k_]
                    if m_.any():
                        g_ = q.gruppe[k_]
                        wert = (1.0 / q.anzahl_teile[g_]) if q.teil[k_] else q.gewicht[k_]
                        cov[cand_of[m_], g_] = np.maximum(cov[cand_of[m_], g_], wert)
                X[:, 13] = np.minimum(cov, 1.0) @ q.idf_gruppe / qnorm
            X[:, 10] = np.log1p(laengen) / 10.0
        if q.text:
            titel_txt = [self._docs[int(r)].titel for r in kand]  # type: ignore[union-attr]
            X[:, 8] = np.asarray([fuzz.token_set_ratio(q.text, t) for t in titel_txt]) / 100.0
        X[:, 9] = 1.0 / (1.0 + np.argsort(np.argsort(-basis)))
        if len(q.aehnlich_tids):
            da = np.zeros((len(kand), len(q.aehnlich_tids)), dtype=bool)
            for f in FELDER:
                teil = _spalten(self._main[f], q.aehnlich_tids)
                d = self._delta[f]
                if d.shape[0]:
                    teil = sp.vstack([teil, _spalten(d, q.aehnlich_tids)], format="csr")
                # rows beyond the matrices (none in practice) count as absent
                innen = kand < teil.shape[0]
                da[innen] |= teil[kand[innen]].toarray() > 0
            wert = da * q.aehnlich_wert[None, :]
            best = np.zeros((len(kand), n_g))
            for j, g in enumerate(q.aehnlich_gruppe):
                best[:, g] = np.maximum(best[:, g], wert[:, j])
            X[:, 14] = best.sum(axis=1) / qnorm
        basis_x = X[:, :nb]
        X[:, nb:] = (basis_x - basis_x.mean(axis=0)) / (basis_x.std(axis=0) + 1e-9)
        return X

    def _kandidaten(self, q: _Anfrage, mats: dict[str, sp.csr_matrix], region: str | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        idf_t = self._idf(q.tids) * q.gewicht
        score = np.zeros(len(self._docs), dtype=np.float64)
        for f in FELDER:
            score += KANDIDATEN_GEWICHT[f] * (mats[f] @ idf_t)
        ok = self._lebend & (score > 0)
        if region is not None:
            erlaubt = np.asarray([not rs or any(region.startswith(p) for p in rs) for rs in self._region_set], dtype=bool)
            ok &= erlaubt[self._row_region]
        idx = np.flatnonzero(ok)
        if len(idx) > k:
            idx = idx[np.argpartition(-score[idx], k)[:k]]
        return idx, score[idx]

    def merkmale_fuer(self, frage: str, k: int = KANDIDATEN) -> tuple[list[int], np.ndarray, _Anfrage]:
        """Candidate ids and their feature matrix (used for training the fusion weights)."""
        with self._lock:
            q = self._anfrage(frage)
            if not len(q.tids):
                return [], np.zeros((0, len(MERKMALE))), q
            mats = self._feld_matrizen(q)
            kand, basis = self._kandidaten(q, mats, None, k)
            X = self._merkmale(q, mats, kand, basis)
            return [self._docs[int(r)].dok.id for r in kand], X, q  # type: ignore[union-attr]

    def suchen(self, frage: str, *, limit: int = 10, region: str | None = None,
               snippets: bool = True) -> list[SuchTreffer]:
        """Ranked hits; `snippets=False` leaves `snippet` empty (skips the best-sentence look-up and the
        highlighting, which callers without a hit list to show do not need). Ranking is the same either way."""
        with self._lock:
            q = self._anfrage(frage)
            if not len(q.tids) or limit <= 0:
                return []
            mats = self._feld_matrizen(q)
            kand, basis = self._kandidaten(q, mats, region, max(KANDIDATEN, limit))
            if not len(kand):
                return []
            X = self._merkmale(q, mats, kand, basis)
            s = X @ self._w + self._b0
            volle = np.argsort(-s, kind="stable")
            ordnung = volle[:limit]
            # The confidence looks at the margin to the runner-up: judge it on at least two hits, so a caller
            # asking for one hit gets the same class as one asking for ten.
            vergleich = volle[:max(limit, 2)]
            konf = self._konfidenz(s[vergleich], X[vergleich], q)[:limit]
            out = []
            for i, j in enumerate(ordnung):
                a = self._docs[int(kand[j])]
                assert a is not None
                text = snippet(a.dok, q.stämme, self._bester_satz(int(kand[j]), q), q.teilstämme) if snippets else ""
                out.append(SuchTreffer(a.dok.id, float(s[j]), konf[i], text))
            return out

    def konfidenz_eingaben(self, frage: str) -> tuple[int | None, list[float] | None]:
        """Top id and the confidence model inputs for a question (used to calibrate the confidence)."""
        with self._lock:
            q = self._anfrage(frage)
            if not len(q.tids):
                return None, None
            mats = self._feld_matrizen(q)
            kand, basis = self._kandidaten(q, mats, None, KANDIDATEN)
            if not len(kand):
                return None, None
            X = self._merkmale(q, mats, kand, basis)
            s = X @ self._w + self._b0
            ordnung = np.argsort(-s, kind="stable")[:10]
            a = self._docs[int(kand[ordnung[0]])]
            assert a is not None
            return a.dok.id, konfidenz_merkmale(s[ordnung], X[ordnung])

    def _bester_satz(self, r: int, q: _Anfrage) -> int:
        """Text sentence (1-based) that covers the most query words (distinct groups, idf-weighted)."""
        folge, satz = self._folge(r)
        ordnung = np.argsort(q.tids)
        st = q.tids[ordnung]
        pos = np.clip(np.searchsorted(st, folge), 0, len(st) - 1)
        hit = (st[pos] == folge) & (satz > 0)
        if not hit.any():
            return 1
        g = q.gruppe[ordnung][pos[hit]]
        paare = np.unique(satz[hit].astype(np.int64) * (len(q.idf_gruppe) + 1) + g)
        s_nr = paare // (len(q.idf_gruppe) + 1)
        wert = np.bincount(s_nr, weights=q.idf_gruppe[paare % (len(q.idf_gruppe) + 1)])
        return int(wert.argmax())

    def _konfidenz(self, s: np.ndarray, X: np.ndarray, q: _Anfrage) -> list[str]:
        k = self._g["konfidenz"]
        p = _sigmoid(float(np.dot(k["a"], konfidenz_merkmale(s, X))) + k["b"])
        erste = KEIN_TREFFER
        # Unknown words veto an answer only while the model is not sure: citizens add everyday words the
        # catalogue never uses ("Kinderreisepass für meine Tochter": p 0.99, but "Tochter" is half the idf
        # mass). The "sicher" threshold was calibrated on all top hits, vetoed or not, so its precision holds.
        if X[0, 4] >= 0.34 and (q.unbekannt < 0.5 or p >= k["sicher"]):
            if p >= k["sicher"]:
                erste = SICHER
            elif p >= k["kein_treffer"]:
                erste = UNSICHER
        rest = UNSICHER if erste != KEIN_TREFFER else KEIN_TREFFER
        return [erste] + [rest] * (len(s) - 1)


# ---------------------------------------------------------------------- snippets

_WORT_ODER_NICHT = re.compile(r"([^\W_]+)|([\W_]+)", re.UNICODE)
_wort_staemme: dict[str, tuple[str, frozenset[str]]] = {}


def _staemme_von(w: str) -> tuple[str, frozenset[str]]:
    r = _wort_staemme.get(w)
    if r is None:
        norm = analyse.normalisieren(w)
        if norm in analyse.STOPWOERTER:
            r = ("", frozenset())
        else:
            r = (analyse.stamm(norm), frozenset(analyse.stamm(t) for t in analyse.zerleger().zerlegen(norm)))
        if len(_wort_staemme) < 500_000:
            _wort_staemme[w] = r
    return r


def _markieren(satz: str, staemme: frozenset[str], teilstaemme: frozenset[str] = frozenset()) -> str:
    """Escapes a sentence and marks words matching the query: the whole word, one of its parts
    matching a query word, or the word matching a part of a query compound (not part with part)."""
    teile = []
    for m in _WORT_ODER_NICHT.finditer(satz):
        w = m.group(0)
        if m.group(1):
            st, tl = _staemme_von(w)
            if st and (st in staemme or st in teilstaemme or not staemme.isdisjoint(tl) or (tl and tl <= teilstaemme)):
                teile.append(f"<mark>{html.escape(w)}</mark>")
                continue
        teile.append(html.escape(w))
    return "".join(teile)


def snippet(
    d: SuchDokument, staemme: frozenset[str], satz_nr: int = 1, teilstaemme: frozenset[str] = frozenset(), max_zeichen: int = 240
) -> str:
    """Sentence satz_nr of the text (1-based, as in the index), HTML-escaped, query words in <mark>."""
    saetze = analyse.saetze(d.text) or [d.name]
    s = saetze[min(max(satz_nr, 1), len(saetze)) - 1]
    if len(s) > max_zeichen:
        s = s[:max_zeichen].rsplit(" ", 1)[0] + " …"
    return _markieren(s, staemme, teilstaemme)

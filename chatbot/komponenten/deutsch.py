"""Whitespace tokenizer that gives every token a normalised German stem as its lemma.

The CountVectorsFeaturizer counts `token.lemma` (use_lemma, on by default), so with this tokenizer "Unterlagen",
"unterlagn" (still a typo), "Kosten"/"kostet"/"kosted", "geöffnet"/"geoeffnet", "anmelden"/"anmeldung" share
vocabulary entries. Token text, offsets and the message text stay unchanged: regexes, entity offsets and the
char n-gram featurizer (use_lemma: false) see what the user wrote.

The stemmer is our own implementation of the published Snowball algorithm for German
(snowballstem.org/algorithms/german/stemmer.html), preceded by folding of typed-out umlauts (ae, oe, ue) and ß,
with one addition: step 2 also removes "-et" ("kostet", "geöffnet").
No package and no download needed.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

VOKALE = set("aeiouyäöü")
S_ENDUNG = set("bdfghklmnrt")
ST_ENDUNG = set("bdfghklmnt")


def umlaute_falten(wort: str) -> str:
    """Lower case; ß -> ss; typed-out umlauts ae/oe/ue -> ä/ö/ü (not in diphthongs: 'neue', 'bauen', 'quelle')."""
    w = wort.lower().replace("ß", "ss")
    aus = []
    for c in w:
        if c == "e" and aus and aus[-1] in "aou":
            davor = aus[-2] if len(aus) >= 2 else ""
            if not (aus[-1] == "u" and davor in ("a", "e", "ä", "q")):
                aus[-1] = {"a": "ä", "o": "ö", "u": "ü"}[aus[-1]]
                continue
        aus.append(c)
    return "".join(aus)


def _regionen(w: str) -> tuple[int, int]:
    """Start of R1 and R2 (Snowball): after the first non-vowel that follows a vowel; R1 starts at 3 at least."""
    def nach(start: int) -> int:
        for i in range(max(start, 1), len(w)):
            if w[i] not in VOKALE and w[i - 1] in VOKALE:
                return i + 1
        return len(w)
    r1 = nach(1)
    r2 = nach(r1 + 1) if r1 < len(w) else len(w)
    return max(r1, 3), r2


def stamm(wort: str) -> str:
    """German Snowball stem of a folded word (lower case, no umlaut marks at the end)."""
    w = umlaute_falten(wort)
    if not w.isalpha() or len(w) <= 2:
        return w.replace("ä", "a").replace("ö", "o").replace("ü", "u")
    # u and y between vowels are consonants (marked upper case while stemming).
    z = list(w)
    for i in range(1, len(z) - 1):
        if z[i] in "uy" and z[i - 1] in VOKALE and z[i + 1] in VOKALE:
            z[i] = z[i].upper()
    w = "".join(z)
    r1, r2 = _regionen(w)

    # Step 1
    for endung in ("ern", "em", "er"):
        if w.endswith(endung):
            if len(w) - len(endung) >= r1:
                w = w[: -len(endung)]
            break
    else:
        for endung in ("en", "es", "e"):
            if w.endswith(endung):
                if len(w) - len(endung) >= r1:
                    w = w[: -len(endung)]
                    if w.endswith("niss"):
                        w = w[:-1]
                break
        else:
            if w.endswith("s") and len(w) - 1 >= r1 and len(w) >= 2 and w[-2] in S_ENDUNG:
                w = w[:-1]

    # Step 2 (plus "et", our addition for verb forms: "kostet" = "kosten", "geöffnet" = "öffnen")
    for endung in ("est", "en", "er", "et"):
        if w.endswith(endung):
            if len(w) - len(endung) >= r1:
                w = w[: -len(endung)]
            break
    else:
        if w.endswith("st") and len(w) - 2 >= r1 and len(w) >= 6 and w[-3] in ST_ENDUNG:
            w = w[:-2]

    # Step 3: derivational suffixes (only in R2)
    def in_r2(n: int) -> bool:
        return len(w) - n >= r2

    for endung in ("end", "ung"):
        if w.endswith(endung):
            if in_r2(3):
                w = w[:-3]
                if w.endswith("ig") and not w.endswith("eig") and in_r2(2):
                    w = w[:-2]
            break
    else:
        for endung in ("isch", "ig", "ik"):
            if w.endswith(endung):
                if in_r2(len(endung)) and not w[: -len(endung)].endswith("e"):
                    w = w[: -len(endung)]
                break
        else:
            for endung in ("lich", "heit"):
                if w.endswith(endung):
                    if in_r2(4):
                        w = w[:-4]
                        if (w.endswith("er") or w.endswith("en")) and len(w) - 2 >= r1:
                            w = w[:-2]
                    break
            else:
                if w.endswith("keit") and in_r2(4):
                    w = w[:-4]
                    if w.endswith("lich") and in_r2(4):
                        w = w[:-4]
                    elif w.endswith("ig") and in_r2(2):
                        w = w[:-2]

    return w.lower().replace("ä", "a").replace("ö", "o").replace("ü", "u")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class DeutscherTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer whose tokens carry the German stem as lemma."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DeutscherTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        for t in tokens:
            t.lemma = stamm(t.text)
        return tokens

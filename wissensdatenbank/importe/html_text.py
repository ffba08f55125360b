"""Text helpers shared by the importers: HTML → plain text, short summaries, opening-hour spans.

HTML is parsed with the stdlib `html.parser` (no network, no entity expansion beyond the HTML5
character references). Scripts, styles and other non-content elements are dropped with their
content; paragraph, heading, table-row and list structure survives as line breaks.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# Elements whose content is never text for a reader.
_UNSICHTBAR = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
               "head", "title", "select", "canvas", "audio", "video"}
# Elements that end a paragraph (blank line before and after).
_ABSATZ = {"p", "div", "section", "article", "header", "footer", "aside", "main", "nav", "blockquote",
           "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "form", "fieldset",
           "figure", "address", "details", "summary", "hr"}
# Elements that end a line.
_ZEILE = {"li", "tr", "dt", "dd", "caption", "figcaption", "option"}
_LEERE = {"br", "img", "hr", "input", "meta", "link", "area", "base", "col", "param", "source", "track", "wbr"}
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9:-]*(\s[^<>]*)?/?\s*>|<!--|&#?[a-zA-Z0-9]+;")
_ABSATZ_MARKE = "\x00P\x00"
_ZEILEN_MARKE = "\x00L\x00"
_BR_MARKE = "\x00B\x00"


class _Extraktor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.teile: list[str] = []
        self._versteckt = 0  # depth inside invisible elements
        self._pre = 0
        self._listen: list[list[int | None]] = []  # per open list: [counter or None]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _UNSICHTBAR:
            if tag not in _LEERE:
                self._versteckt += 1
            return
        if self._versteckt:
            return
        if tag == "br":
            self.teile.append(_BR_MARKE)
        elif tag in ("ul", "ol"):
            self.teile.append(_ZEILEN_MARKE if self._listen else _ABSATZ_MARKE)
            self._listen.append([1 if tag == "ol" else None])
        elif tag == "li":
            self.teile.append(_ZEILEN_MARKE)
            if self._listen and self._listen[-1][0] is not None:
                nr = self._listen[-1][0]
                self._listen[-1][0] = nr + 1
                self.teile.append(f"{nr}. ")
            else:
                self.teile.append("- ")
        elif tag in ("td", "th"):
            self.teile.append(" ")
        elif tag in _ABSATZ:
            self.teile.append(_ABSATZ_MARKE)
            if tag == "pre":
                self._pre += 1
        elif tag in _ZEILE:
            self.teile.append(_ZEILEN_MARKE)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <p/> and friends: never open an invisible region.
        if tag in _UNSICHTBAR or self._versteckt:
            return
        self.handle_starttag(tag, attrs)
        if tag not in _LEERE:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNSICHTBAR:
            if tag not in _LEERE and self._versteckt:
                self._versteckt -= 1
            return
        if self._versteckt:
            return
        if tag in ("ul", "ol"):
            if self._listen:
                self._listen.pop()
            self.teile.append(_ZEILEN_MARKE if self._listen else _ABSATZ_MARKE)
        elif tag in _ABSATZ:
            if tag == "pre" and self._pre:
                self._pre -= 1
            self.teile.append(_ABSATZ_MARKE)
        elif tag in _ZEILE:
            self.teile.append(_ZEILEN_MARKE)

    def handle_data(self, data: str) -> None:
        if self._versteckt:
            return
        if self._pre:
            self.teile.append(data.replace("\n", _ZEILEN_MARKE))
        else:
            self.teile.append(re.sub(r"\s+", " ", data))


def ist_html(text: str) -> bool:
    """True if the text contains tags, comments or character references."""
    return bool(_TAG.search(text))


def html_zu_text(html: str | None) -> str:
    """Plain text from an HTML fragment; plain text input keeps its own line breaks."""
    if not html:
        return ""
    if not ist_html(html):
        return _aufraeumen(html.replace("\r\n", "\n").replace("\r", "\n"))
    p = _Extraktor()
    p.feed(html)
    p.close()
    roh = _UMBRUECHE.sub(_umbruch, "".join(p.teile))
    return _aufraeumen(roh)


_UMBRUECHE = re.compile(f"(?:[ \t]*(?:{_ABSATZ_MARKE}|{_ZEILEN_MARKE}|{_BR_MARKE})[ \t]*)+")


def _umbruch(m: re.Match[str]) -> str:
    # A run of break markers is one break: a paragraph if one of them ends a paragraph
    # or two <br> follow each other.
    s = m.group(0)
    return "\n\n" if _ABSATZ_MARKE in s or s.count(_BR_MARKE) > 1 else "\n"


def _aufraeumen(text: str) -> str:
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    zeilen = [re.sub(r"[ \t]+", " ", z).strip() for z in text.split("\n")]
    # Drop list bullets that lost their text (e.g. an <li> that only held an image).
    zeilen = ["" if z in ("-", "- ") or re.fullmatch(r"\d+\.", z) else z for z in zeilen]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(zeilen)).strip()


def html_zu_zeilen(html: str | None) -> list[str]:
    """Non-empty lines of the plain text, list bullets removed: for list fields (Unterlagen)."""
    aus = []
    for z in html_zu_text(html).split("\n"):
        z = re.sub(r"^(?:[-•*]|\d+\.)\s+", "", z.strip())
        if z:
            aus.append(z)
    return aus


def einfacher_text(wert: str | None) -> str:
    """Titles and names: character references resolved, tags removed, one line."""
    if not wert:
        return ""
    return re.sub(r"\s+", " ", html_zu_text(wert) if ist_html(wert) else unescape(wert)).strip()


_SATZENDE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ0-9„\"(])")


def kurzfassung(text: str, max_zeichen: int = 300) -> str:
    """The first sentences of the first paragraph, at most about max_zeichen characters."""
    text = text.strip()
    if not text:
        return ""
    absatz = next((a.strip() for a in re.split(r"\n\s*\n", text) if len(a.strip()) >= 40), text.split("\n\n")[0])
    absatz = re.sub(r"\s*\n\s*", " ", absatz)
    aus = ""
    for satz in _SATZENDE.split(absatz):
        if aus and len(aus) + 1 + len(satz) > max_zeichen:
            break
        aus = f"{aus} {satz}".strip()
    if len(aus) > max_zeichen:
        schnitt = aus[:max_zeichen].rsplit(" ", 1)[0]
        aus = schnitt.rstrip(",;:-– ") + " …"
    return aus


# --- opening hours in free text ---------------------------------------------------------------

_ZEIT = r"(\d{1,2})(?:[:.](\d{2}))?"
_SPANNE = re.compile(_ZEIT + r"\s*(?:Uhr)?\s*(?:-|–|—|bis)\s*" + _ZEIT + r"\s*(?:Uhr)?", re.IGNORECASE)


def zeitspannen(text: str) -> list[tuple[str, str]]:
    """All "8.00-12.00 Uhr" / "13:00 bis 18:00" spans in a text as ("HH:MM", "HH:MM") pairs."""
    aus = []
    for m in _SPANNE.finditer(text or ""):
        h1, m1, h2, m2 = m.group(1), m.group(2) or "00", m.group(3), m.group(4) or "00"
        if int(h1) > 24 or int(h2) > 24 or int(m1) > 59 or int(m2) > 59:
            continue
        aus.append((f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"))
    return aus

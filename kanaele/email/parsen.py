"""Robust parsing of raw RFC 5322 messages into plain values.

Python's `email` package (compat32 policy: it keeps going on defects where policy.default raises) does the MIME
splitting; decoding of charsets, encoded-words and HTML is done here with fallbacks, so any byte sequence gives a
result. What could not be read is listed in `probleme`, never raised.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

import nh3

from kanaele.email.speicher import adresse_normal, message_id_normal

# Charset names seen in the wild that Python does not know, mapped to what they mean.
CHARSET_ALIAS = {
    "iso-gb2312": "gb18030",
    "gb2312": "gb18030",  # senders label GBK/GB18030 text as GB2312; GB18030 is the superset
    "gbk": "gb18030",
    "x-gbk": "gbk",
    "ks_c_5601-1987": "cp949",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "ansi_x3.4-1968": "ascii",
    "utf8": "utf-8",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",  # mail clients label Windows-1252 text as Latin-1; cp1252 is a superset in practice
    "iso_8859-1": "cp1252",
    "us-ascii": "utf-8",  # 8-bit bytes under a us-ascii label are mostly UTF-8 (else the fallback takes over)
    "ascii": "utf-8",
}
OHNE_BEDEUTUNG = {"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "charset"}

HTML_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "area", "map"}  # no remote images: they track the reader


@dataclass
class Anhang:
    dateiname: str
    mimetyp: str
    groesse: int
    inhalt: bytes | None  # None when over the limit (the raw mail still has it)
    inline: bool = False
    abgelehnt: str | None = None


@dataclass
class GeparsteMail:
    kopf: list[tuple[str, str]] = field(default_factory=list)  # (lower-case name, decoded value), in order
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    betreff: str = ""
    von_adresse: str | None = None  # lower-case, for matching
    von_adresse_original: str | None = None  # as written (display)
    von_name: str = ""
    an: list[str] = field(default_factory=list)
    datum: datetime | None = None
    inhalt_typ: str = "text/plain"
    text: str = ""  # readable body (from text/plain, or from HTML)
    html: str | None = None  # sanitised HTML body, when the mail had one
    anhaenge: list[Anhang] = field(default_factory=list)
    teile: list[str] = field(default_factory=list)  # content types of all parts
    probleme: list[str] = field(default_factory=list)
    nachricht: Message | None = None  # the parsed tree (for DSN parsing); None if parsing failed

    def kopf_wert(self, name: str) -> str | None:
        name = name.lower()
        for n, w in self.kopf:
            if n == name:
                return w
        return None

    def kopf_werte(self, name: str) -> list[str]:
        name = name.lower()
        return [w for n, w in self.kopf if n == name]


# --- decoding helpers ---------------------------------------------------------------------------------------


def _charset_name(charset: str | None) -> str | None:
    if not charset:
        return None
    cs = str(charset).strip().strip("\"'").lower()
    if not cs or cs in OHNE_BEDEUTUNG or "=?" in cs:
        return None
    cs = CHARSET_ALIAS.get(cs, cs)
    try:
        return codecs.lookup(cs).name
    except LookupError:
        return None


# Labels that are often wrong within their family: try the relatives before giving up.
VERWANDTE = {"iso2022_jp": ("cp932", "euc_jp"), "shift_jis": ("cp932",), "euc_jp": ("cp932",),
             "gb18030": ("big5",), "big5": ("gb18030",)}


_EINBYTE = re.compile(r"^(cp125\d|iso8859_\d+|latin_1|ascii|koi8_[ru]|mac_roman|cp874)$")


def _iso2022jp_erweitert(daten: bytes) -> str:
    """ISO-2022-JP with vendor extensions (NEC circled numbers etc., "CP50220"), which Python's codec refuses:
    the two-byte runs are moved to EUC form and read as EUC-JIS-2004."""
    aus = bytearray()
    zweibyte = False
    i = 0
    while i < len(daten):
        if daten[i] == 0x1B and i + 2 < len(daten):
            folge = daten[i + 1:i + 3]
            if folge in (b"$B", b"$@"):
                zweibyte, i = True, i + 3
                continue
            if folge in (b"(B", b"(J"):
                zweibyte, i = False, i + 3
                continue
        b = daten[i]
        if zweibyte and b > 0x20 and i + 1 < len(daten) and daten[i + 1] > 0x20:
            aus += bytes((b | 0x80, daten[i + 1] | 0x80))
            i += 2
            continue
        aus.append(b)
        i += 1
    return bytes(aus).decode("euc_jis_2004", errors="replace")


def bytes_dekodieren(daten: bytes, charset: str | None = None, hinweise: tuple[str, ...] = ()) -> str:
    """Decode with the declared charset (and its relatives), else UTF-8, else the charsets hinted by the rest
    of the mail, else Windows-1252, else Latin-1 (never fails)."""
    cs = _charset_name(charset)
    if cs == "iso2022_jp" and b"\x1b$" in daten:
        try:
            return daten.decode(cs)
        except UnicodeDecodeError:
            return _iso2022jp_erweitert(daten)
    kette: list[str | None] = [cs, *VERWANDTE.get(cs or "", ()), "utf-8"]
    # Multi-byte charsets first: they fail on foreign bytes, single-byte ones accept anything.
    for hn in sorted((_charset_name(h) for h in hinweise), key=lambda c: bool(c and _EINBYTE.match(c))):
        kette += [hn, *VERWANDTE.get(hn or "", ())]
    kette.append("cp1252")
    for versuch in kette:
        if not versuch:
            continue
        try:
            return daten.decode(versuch)
        except (UnicodeDecodeError, LookupError):
            continue
    return daten.decode("latin-1")


def _surrogate_fix(s: str, hinweise: tuple[str, ...] = ()) -> str:
    """Headers with raw 8-bit bytes come back with surrogate escapes: decode them properly."""
    if not any("\udc80" <= c <= "\udcff" for c in s):
        return s
    return bytes_dekodieren(s.encode("utf-8", "surrogateescape"), None, hinweise)


_FALTUNG = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=")


def kopf_dekodieren(wert, hinweise: tuple[str, ...] = ()) -> str:
    """RFC 2047 encoded-words and raw 8-bit headers to text; unfolded, whitespace otherwise kept."""
    if wert is None:
        return ""
    if isinstance(wert, Header):
        try:
            teile = decode_header(wert)
        except Exception:  # noqa: BLE001 - a broken header must not stop the mail
            return _surrogate_fix(str(wert), hinweise)
    else:
        s = _FALTUNG.sub("", str(wert)).strip(" \t\r\n")  # outer whitespace is not part of the value
        if "=?" not in s:
            return _surrogate_fix(s, hinweise)
        try:
            teile = decode_header(_surrogate_fix(s, hinweise))
        except Exception:  # noqa: BLE001
            return _surrogate_fix(s, hinweise)
    aus = []
    for chunk, cs in teile:
        if isinstance(chunk, bytes):
            aus.append(bytes_dekodieren(chunk, cs, hinweise))
        else:
            aus.append(_surrogate_fix(chunk, hinweise))
    text = "".join(aus)
    return text.replace("\r", "").replace("\n", "")


def _ids(wert: str | None) -> list[str]:
    if not wert:
        return []
    gefunden = re.findall(r"<([^<>\s]+)>", wert)
    if not gefunden:
        gefunden = [t for t in wert.split() if "@" in t]
    aus = []
    for g in gefunden:
        mid = message_id_normal(g)
        if mid and mid not in aus:
            aus.append(mid)
    return aus


# --- HTML ---------------------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote",
          "pre", "hr", "dd", "dt", "section", "article", "header", "footer"}
_UNSICHTBAR = {"script", "style", "head", "title", "template", "noscript", "xml", "o:p"}


class _TextAusHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.teile: list[str] = []
        self._weg = 0
        self._zitat = 0

    def handle_starttag(self, tag, attrs):
        if tag in _UNSICHTBAR:
            self._weg += 1
        elif tag == "blockquote":
            self._zitat += 1
            self.teile.append("\n")
        elif tag == "li":
            self.teile.append("\n- ")
        elif tag in _BLOCK:
            self.teile.append("\n")
        elif tag == "td":
            self.teile.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr", "p", "div"):
            self.teile.append("\n")

    def handle_endtag(self, tag):
        if tag in _UNSICHTBAR:
            self._weg = max(0, self._weg - 1)
        elif tag == "blockquote":
            self._zitat = max(0, self._zitat - 1)
            self.teile.append("\n")
        elif tag in _BLOCK:
            self.teile.append("\n")

    def handle_data(self, data):
        if self._weg:
            return
        data = re.sub(r"[ \t\r\n\f\xa0]+", " ", data)
        if self._zitat and data.strip():
            # Quoted HTML (replies) becomes "> " lines, so quote stripping treats it like plain text.
            data = "\n".join("> " + z for z in data.split("\n"))
        self.teile.append(data)


def html_zu_text(html: str) -> str:
    p = _TextAusHtml()
    try:
        p.feed(html)
        p.close()
    except Exception:  # noqa: BLE001 - HTMLParser rarely raises; fall back to stripping tags
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(p.teile)
    zeilen = [z.strip() for z in text.split("\n")]
    text = "\n".join(zeilen)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_bereinigen(html: str) -> str:
    """Sanitised HTML for display: no scripts, styles, event handlers or remote images."""
    return nh3.clean(html, tags=HTML_TAGS, clean_content_tags={"script", "style", "title", "head"},
                     url_schemes={"http", "https", "mailto"})


# --- the parser ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grenzen:
    anhang_max_bytes: int = 10 * 1024 * 1024
    anhang_max_anzahl: int = 20
    text_max_zeichen: int = 200_000


def _payload(part: Message) -> bytes:
    try:
        daten = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        daten = None
    if isinstance(daten, bytes):
        return daten
    roh = part.get_payload()
    if isinstance(roh, str):
        return roh.encode("utf-8", "surrogateescape")
    return b""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # noqa: BLE001
        return None


def _dateiname(part: Message) -> str | None:
    try:
        name = part.get_filename() or part.get_param("name")
    except Exception:  # noqa: BLE001
        name = None
    if name is None:
        return None
    if isinstance(name, tuple):  # RFC 2231 value not collapsed
        name = email.utils.collapse_rfc2231_value(name)
    name = kopf_dekodieren(name)
    name = re.sub(r"[\x00-\x1f/\\]", "_", name).strip()
    return name[:255] or None


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001
        return ""


def parsen(roh: bytes, grenzen: Grenzen | None = None) -> GeparsteMail:
    """Parse raw bytes; never raises. Problems are reported in `probleme`."""
    grenzen = grenzen or Grenzen()
    mail = GeparsteMail()
    try:
        msg = email.message_from_bytes(_kopf_reparieren(_kopfbeginn(roh)), policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001
        mail.probleme.append(f"MIME nicht lesbar: {type(exc).__name__}")
        mail.text = bytes_dekodieren(roh)[: grenzen.text_max_zeichen]
        return mail
    mail.nachricht = msg
    for d in getattr(msg, "defects", []) or []:
        mail.probleme.append(type(d).__name__)
    _koepfe_lesen(mail, msg)
    try:
        _koerper_lesen(mail, msg, grenzen)
    except Exception as exc:  # noqa: BLE001 - degrade to the raw body text, keep the headers
        mail.probleme.append(f"Inhalt nicht lesbar: {type(exc).__name__}")
        teile = roh.split(b"\n\n", 1)
        mail.text = bytes_dekodieren(teile[1] if len(teile) > 1 else roh)[: grenzen.text_max_zeichen]
    _steuerzeichen_entfernen(mail)
    return mail


_STEUERZEICHEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _steuerzeichen_entfernen(mail: GeparsteMail) -> None:
    """Control characters (NUL above all: PostgreSQL refuses it in text) never reach the database."""
    mail.text = _STEUERZEICHEN.sub("", mail.text)
    mail.betreff = _STEUERZEICHEN.sub("", mail.betreff)
    mail.von_name = _STEUERZEICHEN.sub("", mail.von_name)
    mail.kopf = [(n, _STEUERZEICHEN.sub("", w)) for n, w in mail.kopf]
    if mail.html is not None:
        mail.html = _STEUERZEICHEN.sub("", mail.html)
    if mail.message_id:
        mail.message_id = _STEUERZEICHEN.sub("", mail.message_id) or None
    mail.in_reply_to = [i for i in (_STEUERZEICHEN.sub("", x) for x in mail.in_reply_to) if i]
    mail.references = [i for i in (_STEUERZEICHEN.sub("", x) for x in mail.references) if i]
    for a in mail.anhaenge:
        a.dateiname = _STEUERZEICHEN.sub("", a.dateiname) or "anhang"


_KOPFZEILE = re.compile(rb"^[!-9;-~]+:")


def _kopfbeginn(roh: bytes) -> bytes:
    """Drop an mbox "From " line or a few lines of junk before the first header (forwarded-as-text dumps)."""
    if _KOPFZEILE.match(roh):
        return roh
    zeilen = roh[:4096].splitlines(keepends=True)
    weg = 0
    for zeile in zeilen[:3]:
        if _KOPFZEILE.match(zeile):
            break
        if not zeile.strip():
            return roh  # a blank line first: no headers at all, keep as is
        weg += len(zeile)
    else:
        return roh
    rest = roh[weg:]
    return rest if _KOPFZEILE.match(rest) else roh


_ZEILE = re.compile(rb"[^\r\n]*(?:\r\n|\n|\r|$)")


def _kopf_reparieren(roh: bytes) -> bytes:
    """Header lines that are neither "Name: value" nor indented are broken folds (seen from some gateways):
    indent them, so the header block does not end there and the real headers after them are kept."""
    aus = []
    pos = 0
    geaendert = False
    for m in _ZEILE.finditer(roh):
        zeile = m.group(0)
        if not zeile.strip(b"\r\n"):
            break  # end of the header block
        pos = m.end()
        if not (_KOPFZEILE.match(zeile) or zeile[:1] in (b" ", b"\t") or zeile.startswith(b"From ")):
            zeile = b" " + zeile
            geaendert = True
        aus.append(zeile)
        if pos >= len(roh):
            break
    if not geaendert:
        return roh
    return b"".join(aus) + roh[pos:]


def _koepfe_lesen(mail: GeparsteMail, msg: Message) -> None:
    hinweise = _body_charsets(msg)
    for name, wert in msg._headers:  # raw (name, value) pairs: the accessor would re-parse each time
        try:
            mail.kopf.append((str(name).lower(), kopf_dekodieren(wert, hinweise)))
        except Exception:  # noqa: BLE001
            mail.probleme.append("Kopfzeile nicht lesbar")
    name, adresse = _absender(msg)
    mail.von_adresse_original = adresse
    mail.von_adresse = adresse_normal(adresse) if adresse and "@" in adresse else None
    name = kopf_dekodieren(name, hinweise).strip().strip('"').strip() if name else ""
    if "(" in name and not name.startswith("("):
        name = re.sub(r"\s*\([^()]*\)\s*", " ", name).strip()  # a comment is not part of the name
    mail.von_name = name
    an = []
    for feld in ("to", "cc"):
        for wert in msg.get_all(feld, []) or []:
            for _n, a in getaddresses([_surrogate_fix(str(wert))]):
                if a and "@" in a:
                    an.append(adresse_normal(a))
    mail.an = [a for a in an if a]
    mail.betreff = mail.kopf_wert("subject") or ""
    mail.message_id = (_ids(mail.kopf_wert("message-id")) or [None])[0]
    mail.in_reply_to = _ids(mail.kopf_wert("in-reply-to"))
    mail.references = _ids(" ".join(mail.kopf_werte("references")))
    datum = mail.kopf_wert("date")
    if datum:
        try:
            mail.datum = parsedate_to_datetime(datum)
        except (TypeError, ValueError, IndexError):
            mail.probleme.append("Datum nicht lesbar")
    mail.inhalt_typ = _content_type(msg)


def _body_charsets(msg: Message) -> tuple[str, ...]:
    """Charsets declared on the text parts: the best guess for raw 8-bit headers without a label."""
    aus: list[str] = []
    try:
        for part in msg.walk():
            cs = _charset(part)
            if cs and cs not in aus:
                aus.append(cs)
            if len(aus) >= 3:
                break
    except Exception:  # noqa: BLE001
        pass
    return tuple(aus)


def _roh_alle(msg: Message, name: str) -> list[str]:
    return [_FALTUNG.sub("", _surrogate_fix(str(w))) for n, w in msg._headers if n.lower() == name]


def _absender(msg: Message) -> tuple[str, str | None]:
    """(display name, address) of the first From entry with an address; else Sender, Reply-To, Return-Path."""
    for feld in ("from", "sender", "reply-to", "return-path"):
        for wert in _roh_alle(msg, feld):
            try:
                paare = getaddresses([wert])
            except Exception:  # noqa: BLE001
                paare = [parseaddr(wert)]
            for name, adresse in paare:
                if adresse and ("@" in adresse or (feld == "from" and re.fullmatch(r"[\w.-]+", adresse))):
                    return name, adresse
            treffer = re.search(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+", wert)
            if treffer:
                return "", treffer.group(0)
    return "", None


def _koerper_lesen(mail: GeparsteMail, msg: Message, grenzen: Grenzen) -> None:
    texte: list[str] = []
    htmls: list[str] = []
    for part in msg.walk():
        ctype = _content_type(part)
        mail.teile.append(ctype)
        if part.is_multipart():
            continue
        if ctype.startswith("multipart/"):
            # Declared multipart that could not be split (missing/wrong boundary): read it as text.
            mail.probleme.append("Multipart ohne gültige Grenze")
            texte.append(bytes_dekodieren(_payload(part), _charset(part)))
            continue
        dispo = _disposition(part)
        name = _dateiname(part)
        ist_text = ctype in ("text/plain", "text/html", "text/enriched") or ctype == "text"
        if ist_text and dispo != "attachment" and not (name and ctype != "text/plain" and ctype != "text/html"):
            inhalt = bytes_dekodieren(_payload(part), _charset(part))
            if ctype == "text/html":
                htmls.append(inhalt)
            else:
                texte.append(inhalt)
            continue
        if ctype in ("message/delivery-status", "message/feedback-report", "text/rfc822-headers",
                     "message/disposition-notification") and not name:
            continue  # machine-readable report parts: read by the bounce filter from `nachricht`
        _anhang(mail, part, ctype, name, dispo, grenzen)

    # Prefer the plain text part; HTML-only mails get their text from the HTML.
    if htmls:
        html = "\n".join(htmls)
        mail.html = html_bereinigen(html)[: grenzen.text_max_zeichen]
        if not any(t.strip() for t in texte):
            texte = [html_zu_text(html)]
    text = "\n".join(t for t in texte if t is not None)
    mail.text = text.replace("\r\n", "\n").replace("\r", "\n")[: grenzen.text_max_zeichen]


def _anhang(mail: GeparsteMail, part: Message, ctype: str, name: str | None, dispo: str, grenzen: Grenzen) -> None:
    daten = _payload(part)
    dateiname = name or f"anhang-{len(mail.anhaenge) + 1}"
    a = Anhang(dateiname=dateiname, mimetyp=ctype[:100], groesse=len(daten), inhalt=daten,
               inline=dispo == "inline")
    if len(mail.anhaenge) >= grenzen.anhang_max_anzahl:
        a.inhalt, a.abgelehnt = None, "zu viele Anhänge"
    elif len(daten) > grenzen.anhang_max_bytes:
        a.inhalt, a.abgelehnt = None, "zu groß"
    mail.anhaenge.append(a)

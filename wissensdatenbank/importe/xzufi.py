"""XZuFi 2.2 transfer documents (namespace http://xoev.de/schemata/xzufi/2_2_0).

Parsed with defusedxml: no DTDs, entities or external references. Elements are matched by their
local names, so prefixes, default namespaces and wrapper elements of the various transfer
messages do not matter, and missing optional parts are simply empty.

Leistung: id, referenzLeiKa, modulText (leistungsmodulTyp code → field), modulKosten, modulFrist,
modulBearbeitungsdauer. Organisationseinheit: id, name, anschrift, kommunikation, oeffnungszeiten.
Zustaendigkeit: leistungID ↔ organisationseinheitID for gebietID (ARS). Onlinedienst: bezeichnung,
link, tied to Leistungen by leistungID (or a Leistung's onlinedienstID).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from wissensdatenbank.importe.basis import (
    DatensatzFehler,
    Eintrag,
    Fehler,
    LeistungEintrag,
    OEEintrag,
    betrag,
    url,
)
from wissensdatenbank.importe.html_text import einfacher_text, html_zu_text, html_zu_zeilen, zeitspannen

FORMAT = "xzufi"
NAMESPACE = "http://xoev.de/schemata/xzufi/2_2_0"

# leistungsmodulTyp code → Leistung field (text fields; 07, 08 and 14 are handled as lists).
_TEXTMODULE = {
    "02": "leistungsbezeichnung",
    "03": "leistungsname",
    "24": "teaser",
    "05": "kurztext",
    "06": "volltext",
    "09": "voraussetzungen",
    "11": "verfahrensablauf",
    "15": "weiterfuehrende_informationen",
    "16": "hinweise",
    "25": "rechtsbehelf",
}
_HINWEIS_MODULE = {"22": "Zuständige Stelle", "23": "Ansprechpunkt"}
_EINHEITEN = {"t": "Tage", "d": "Tage", "tag": "Tage", "tage": "Tage", "w": "Wochen", "woche": "Wochen",
              "wochen": "Wochen", "m": "Monate", "monat": "Monate", "monate": "Monate", "j": "Jahre",
              "a": "Jahre", "jahr": "Jahre", "jahre": "Jahre", "h": "Stunden", "stunde": "Stunden",
              "stunden": "Stunden", "min": "Minuten"}
_WOCHENTAGE = {"mo": "mo", "montag": "mo", "monday": "mo", "1": "mo", "di": "di", "dienstag": "di",
               "tuesday": "di", "2": "di", "mi": "mi", "mittwoch": "mi", "wednesday": "mi", "3": "mi",
               "do": "do", "donnerstag": "do", "thursday": "do", "4": "do", "fr": "fr", "freitag": "fr",
               "friday": "fr", "5": "fr", "sa": "sa", "samstag": "sa", "saturday": "sa", "6": "sa",
               "so": "so", "sonntag": "so", "sunday": "so", "7": "so"}
_TAGFOLGE = ["mo", "di", "mi", "do", "fr", "sa", "so"]


# --- parsing ----------------------------------------------------------------------------------


class _Unlesbar(Exception):
    def __init__(self, position: str, grund: str) -> None:
        super().__init__(grund)
        self.position, self.grund = position, grund


class _Baum(ET.TreeBuilder):
    """TreeBuilder that remembers the source line of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.zeilen: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        elem = super().start(tag, attrs)
        if self.parser is not None:
            self.zeilen[id(elem)] = self.parser.parser.CurrentLineNumber
        return elem


def _deklarierte_kodierung(roh: bytes) -> str:
    m = re.match(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", roh.lstrip(b"\xef\xbb\xbf"))
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def _parse(roh: bytes, datei: str) -> tuple[ET.Element, dict[int, int]]:
    baum = _Baum()
    parser = DefusedXMLParser(target=baum, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    baum.parser = parser
    try:
        parser.feed(roh)
        wurzel = parser.close()
    except DefusedXmlException as exc:
        zeile = parser.parser.CurrentLineNumber
        raise _Unlesbar(
            f"{datei}, Zeile {zeile}",
            "Das Dokument enthält eine DTD, Entity-Deklaration oder externe Referenz; "
            f"aus Sicherheitsgründen wird es nicht verarbeitet ({type(exc).__name__}).",
        ) from exc
    except ET.ParseError as exc:
        zeile, spalte = exc.position
        if _deklarierte_kodierung(roh) in ("utf-8", "utf8"):
            try:
                roh.decode("utf-8")
            except UnicodeDecodeError as uexc:
                z = roh[: uexc.start].count(b"\n") + 1
                raise _Unlesbar(
                    f"{datei}, Zeile {z}",
                    "Die Datei ist nicht UTF-8-kodiert (ungültiges Byte), obwohl sie UTF-8 deklariert.",
                ) from exc
        grund = str(exc).split(":")[0]
        raise _Unlesbar(f"{datei}, Zeile {zeile}, Spalte {spalte + 1}",
                        f"Das XML-Dokument ist nicht wohlgeformt: {grund}.") from exc
    except (ValueError, LookupError) as exc:  # e.g. an unknown declared encoding
        raise _Unlesbar(datei, f"Das XML-Dokument kann nicht gelesen werden: {exc}.") from exc
    return wurzel, baum.zeilen


# --- element helpers --------------------------------------------------------------------------


def _ln(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kinder(e: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if e is None else [c for c in e if _ln(c.tag) == name]


def _kind(e: ET.Element | None, *namen: str) -> ET.Element | None:
    if e is None:
        return None
    for name in namen:
        for c in e:
            if _ln(c.tag) == name:
                return c
    return None


def _alle(e: ET.Element, *namen: str) -> Iterator[ET.Element]:
    return (x for x in e.iter() if _ln(x.tag) in namen)


def _text(e: ET.Element | None) -> str:
    return "" if e is None else re.sub(r"\s+", " ", "".join(e.itertext())).strip()


def _code(e: ET.Element | None) -> str:
    if e is None:
        return ""
    c = _kind(e, "code")
    return _text(c if c is not None else e)


def _attr(e: ET.Element, name: str) -> str:
    for k, v in e.attrib.items():
        if _ln(k) == name:
            return v
    return ""


def _sprachwahl(elemente: list[ET.Element]) -> list[ET.Element]:
    """The German variants of a multilingual element (or the untagged ones, or all)."""
    de = [e for e in elemente if _attr(e, "languageCode").lower().startswith("de")]
    if de:
        return de
    ohne = [e for e in elemente if not _attr(e, "languageCode")]
    return ohne or elemente


def _als_html(e: ET.Element) -> str:
    """Inner markup of an element with namespaces dropped (inline XHTML content)."""
    teile = [escape(e.text or "", quote=False)]
    for c in e:
        name = _ln(c.tag)
        if name:
            teile.append(f"<{name}>{_als_html(c)}</{name}>")
        teile.append(escape(c.tail or "", quote=False))
    return "".join(teile)


def _inhalt_html(e: ET.Element | None) -> str:
    if e is None:
        return ""
    return _als_html(e) if len(e) else (e.text or "")


def _mehrsprachig_text(e: ET.Element | None, name: str) -> str:
    """Text of the German child `name`; the element itself if it has no such child."""
    if e is None:
        return ""
    kinder = _sprachwahl(_kinder(e, name))
    if kinder:
        return html_zu_text("\n\n".join(_inhalt_html(k) for k in kinder))
    return html_zu_text(_inhalt_html(e))


def _ist_urlartig(s: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^www\.", s))


# --- Leistung ---------------------------------------------------------------------------------


def _links(mt: ET.Element) -> list[dict[str, str]]:
    aus = []
    for wl in _kinder(mt, "weiterfuehrenderLink"):
        adresse = _text(_kind(wl, "uri", "link", "url"))
        titel = einfacher_text(_text(_kind(wl, "titel", "bezeichnung", "beschreibung")))
        if adresse or titel:
            aus.append({"name": titel or adresse, "url": adresse})
    return aus


def _beschreibungen(m: ET.Element) -> list[str]:
    texte = []
    for b in _alle(m, "beschreibung", "inhalt"):
        sprache = _attr(b, "languageCode").lower()
        if sprache and not sprache.startswith("de"):
            continue
        t = html_zu_text(_inhalt_html(b))
        if t and t not in texte:
            texte.append(t)
    return texte


def _dauer_text(m: ET.Element) -> str:
    """Descriptions plus structured durations ("4 Wochen") of a Frist or Bearbeitungsdauer module."""
    texte = _beschreibungen(m)
    for eltern in m.iter():
        d = _kind(eltern, "dauer", "fristDauer", "wert")
        if d is None or len(d) or not _text(d):
            continue
        code = _code(_kind(eltern, "einheit", "fristEinheit"))
        texte.append(f"{_text(d)} {_EINHEITEN.get(code.lower(), code)}".strip())
    return "\n".join(dict.fromkeys(t for t in texte if t))


def _kosten(m_liste: list[ET.Element]) -> dict[str, Any]:
    texte: list[str] = []
    werte: list[Decimal] = []
    for m in m_liste:
        posten = _kinder(m, "kosten") or [m]
        for k in posten:
            texte += [t for t in _beschreibungen(k) if t not in texte]
            for b in _alle(k, "betrag", "betragFix", "betragFest", "betragMin", "betragUntergrenze", "betragVon",
                           "betragMax", "betragObergrenze", "betragBis"):
                innen = _kind(b, "wert", "betrag")
                wert = _text(innen if innen is not None else b)
                d = betrag(wert, f"kosten.{_ln(b.tag)}")
                if d is not None:
                    werte.append(d)
    aus: dict[str, Any] = {"kosten_text": "\n".join(texte)}
    if werte:
        aus["kosten_betrag"], aus["kosten_betrag_bis"] = min(werte), max(werte)
        if not texte:
            betraege = " bis ".join(f"{w:.2f}".replace(".", ",") + " Euro" for w in sorted(set(werte)))
            aus["kosten_text"] = betraege
    return aus


def _leistung_felder(e: ET.Element, quell_id: str) -> dict[str, Any]:
    """Fields of one Leistung; raises DatensatzFehler for values that make the record unusable."""
    felder: dict[str, Any] = {}
    texte: dict[str, list[str]] = {}
    formulare: list[dict[str, str]] = []
    recht: list[dict[str, str]] = []
    unterlagen: list[str] = []
    weitere_links: list[dict[str, str]] = []
    hinweise: list[str] = []
    for mt in _alle(e, "modulText"):
        code = _code(_kind(mt, "leistungsmodulTyp", "leistungsmodultyp")).zfill(2)
        inhalte = _sprachwahl(_kinder(mt, "inhalt"))
        html = "\n\n".join(_inhalt_html(i) for i in inhalte)
        links = _links(mt)
        if code == "08":
            unterlagen += html_zu_zeilen(html)
        elif code in ("07", "14"):
            ziel = recht if code == "07" else formulare
            ziel += links
            if not links:
                ziel += [{"name": z, "url": ""} for z in html_zu_zeilen(html)]
            continue
        elif code in _HINWEIS_MODULE:
            t = html_zu_text(html)
            if t:
                hinweise.append(f"{_HINWEIS_MODULE[code]}: {t}")
        elif code in _TEXTMODULE:
            t = html_zu_text(html)
            if t:
                texte.setdefault(_TEXTMODULE[code], []).append(t)
        weitere_links += links
    for feld, liste in texte.items():
        felder[feld] = "\n\n".join(liste)
    felder["leistungsname"] = einfacher_text(felder.get("leistungsname", "")) or einfacher_text(
        felder.get("leistungsbezeichnung", "")) or _mehrsprachig_text(_kind(e, "bezeichnung", "name"), "text")
    felder["leistungsbezeichnung"] = einfacher_text(felder.get("leistungsbezeichnung", ""))
    if hinweise:
        felder["hinweise"] = "\n\n".join(([felder["hinweise"]] if felder.get("hinweise") else []) + hinweise)
    if weitere_links:
        zeilen = [f"{lk['name']}: {url(lk['url'], 'weiterfuehrende_informationen')}"
                  if lk["url"] and lk["name"] != lk["url"] else url(lk["url"], "weiterfuehrende_informationen")
                  or lk["name"] for lk in weitere_links]
        felder["weiterfuehrende_informationen"] = "\n".join(
            [felder.get("weiterfuehrende_informationen", "")] + zeilen).strip()
    felder["formulare"], felder["rechtsgrundlagen"], felder["unterlagen"] = formulare, recht, unterlagen

    leika = [_code(r) for r in _alle(e, "referenzLeiKa") if _code(r)]
    felder["leika"] = leika[0] if leika else None

    kosten = list(_alle(e, "modulKosten"))
    if kosten:
        felder.update(_kosten(kosten))
    felder["fristen"] = "\n".join(t for m in _alle(e, "modulFrist") if (t := _dauer_text(m)))
    felder["bearbeitungsdauer"] = "\n".join(t for m in _alle(e, "modulBearbeitungsdauer") if (t := _dauer_text(m)))
    return felder


# --- Organisationseinheit ---------------------------------------------------------------------

_TAG_RE = r"(Mo|Di|Mi|Do|Fr|Sa|So)[a-z]*\.?"


def _tage_aus_text(s: str) -> list[str]:
    """Weekdays named at the start of a line: "Mo", "Mo–Fr", "Montag bis Mittwoch", "Mo, Mi"."""
    m = re.match(rf"^\s*{_TAG_RE}(?:\s*(?:-|–|bis)\s*{_TAG_RE})?((?:\s*(?:,|und|u\.)\s*{_TAG_RE})*)", s)
    if not m:
        return []
    a = m.group(1).lower()
    if m.group(2):
        i, j = _TAGFOLGE.index(a), _TAGFOLGE.index(m.group(2).lower())
        tage = _TAGFOLGE[i : j + 1] if i <= j else []
    else:
        tage = [a]
    tage += [t.lower() for t in re.findall(_TAG_RE, m.group(3) or "")]
    return tage


def _oeffnungszeiten(oe: ET.Element) -> tuple[list[dict[str, str]], list[str]]:
    slots: list[dict[str, str]] = []
    notizen: list[str] = []
    for block in (x for x in oe if _ln(x.tag).lower().startswith("oeffnungszeit")):
        strukturiert = False
        for x in block.iter():
            tag_el = _kind(x, "wochentag", "tag")
            von_el = _kind(x, "von", "beginn", "zeitVon", "uhrzeitVon", "start")
            bis_el = _kind(x, "bis", "ende", "zeitBis", "uhrzeitBis", "end")
            if tag_el is not None and von_el is not None and bis_el is not None:
                strukturiert = True
                tag = _WOCHENTAGE.get(_code(tag_el).lower().rstrip("."))
                if tag:
                    slots.append({"tag": tag, "von": _text(von_el)[:5], "bis": _text(bis_el)[:5]})
                else:
                    notizen.append(f"{_code(tag_el)}: {_text(von_el)}–{_text(bis_el)}")
        if strukturiert:
            continue
        for zeile in _mehrsprachig_text(block, "inhalt").split("\n"):
            zeile = zeile.strip()
            if not zeile:
                continue
            tage, spannen = _tage_aus_text(zeile), zeitspannen(zeile)
            for t in tage:
                slots += [{"tag": t, "von": v, "bis": b} for v, b in spannen]
            rest = re.sub(rf"{_TAG_RE}|[\d:.,\s–-]|Uhr|bis|und", "", zeile, flags=re.IGNORECASE)
            if not (tage and spannen) or rest:
                notizen.append(zeile)
    return slots, notizen


def _oe(e: ET.Element, quell_id: str) -> OEEintrag:
    name_el = _kind(e, "name")
    innen = _sprachwahl(_kinder(name_el, "name")) if name_el is not None else []
    name = einfacher_text(_text(innen[0] if innen else name_el))
    anschriften = _kinder(e, "anschrift")
    a = anschriften[0] if anschriften else None
    oe = OEEintrag(
        quell_id=quell_id,
        name=name,
        kurzname=einfacher_text(_text(_kind(e, "kurzbezeichnung", "kurzname"))),
        strasse=_text(_kind(a, "strasse")),
        hausnummer=_text(_kind(a, "hausnummer")),
        plz=_text(_kind(a, "postleitzahl", "plz")),
        ort=_text(_kind(a, "ort")),
    )
    hinweise = []
    for k in _kinder(e, "kommunikation"):
        kanal = _code(_kind(k, "kanal", "typ"))
        kennung = _text(_kind(k, "kennung", "adresse", "wert"))
        if not kennung:
            continue
        if kanal == "04" or "fax" in kanal.lower():
            hinweise.append(f"Fax: {kennung}")
        elif "@" in kennung and not _ist_urlartig(kennung.removeprefix("mailto:")) or kennung.startswith("mailto:"):
            oe.email = oe.email or kennung.removeprefix("mailto:")
        elif _ist_urlartig(kennung):
            oe.web = oe.web or (f"https://{kennung}" if kennung.startswith("www.") else kennung)
        elif re.search(r"\d", kennung):
            oe.telefon = oe.telefon or kennung
    web = _text(_kind(e, "internetadresse", "webseite", "url"))
    if web and not oe.web:
        oe.web = f"https://{web}" if web.startswith("www.") else web
    oe.oeffnungszeiten, notizen = _oeffnungszeiten(e)
    if notizen:
        hinweise.append("Öffnungszeiten:\n" + "\n".join(notizen))
    oe.hinweis = "\n\n".join(hinweise)
    return oe


# --- Onlinedienst -----------------------------------------------------------------------------


def _onlinedienst(e: ET.Element) -> dict[str, str] | None:
    adresse = ""
    for x in _alle(e, "link", "uri", "url", "internetadresse"):
        if not len(x) and _text(x):
            adresse = _text(x)
            break
    name = einfacher_text(_mehrsprachig_text(_kind(e, "bezeichnung", "name", "titel"), "text"))
    if not adresse and not name:
        return None
    return {"name": name or "Onlinedienst", "url": adresse}


# --- document ---------------------------------------------------------------------------------


class _Dokument:
    def __init__(self, datei: str, wurzel: ET.Element, zeilen: dict[int, int]) -> None:
        self.datei, self.wurzel, self.zeilen = datei, wurzel, zeilen
        self.eltern = {id(c): p for p in wurzel.iter() for c in p}

    def position(self, e: ET.Element, name: str, nr: int, quell_id: str = "") -> str:
        zeile = self.zeilen.get(id(e))
        teile = [self.datei] if self.datei else []
        if zeile:
            teile.append(f"Zeile {zeile}")
        teile.append(f"Element {name}[{nr}]" + (f" (id {quell_id})" if quell_id else ""))
        return ", ".join(teile)

    def vorfahr(self, e: ET.Element, name: str) -> ET.Element | None:
        p = self.eltern.get(id(e))
        while p is not None and _ln(p.tag) != name:
            p = self.eltern.get(id(p))
        return p

    def objekte(self, name: str) -> list[ET.Element]:
        # Real objects carry their own data; bare references (e.g. <leistung>ID</leistung>) do not.
        return [x for x in self.wurzel.iter() if _ln(x.tag) == name and _kind(x, "id") is not None]


def _id(e: ET.Element | None) -> str:
    return _text(_kind(e, "id")) if e is not None else ""


def _ars(wert: str) -> str | None:
    s = re.sub(r"\s", "", wert)
    return s if re.fullmatch(r"\d{1,12}", s) else None


def _dateien(pfad: Path) -> list[Path]:
    if pfad.is_dir():
        return sorted(p for p in pfad.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
    return [pfad]


def lesen(pfad: Path) -> Iterator[tuple[str, Eintrag]]:
    """Yield Organisationseinheiten first, then Leistungen; a non-well-formed document is fatal."""
    dokumente: list[_Dokument] = []
    dateien = _dateien(pfad)
    if not dateien:
        yield str(pfad), Fehler("Im Verzeichnis liegt keine XML-Datei.", fatal=True)
        return
    fatal = []
    for p in dateien:
        try:
            roh = p.read_bytes()
            wurzel, zeilen = _parse(roh, p.name)
        except OSError as exc:
            fatal.append((p.name, Fehler(f"Die Datei kann nicht gelesen werden: {exc.strerror}", fatal=True)))
            continue
        except _Unlesbar as exc:
            fatal.append((exc.position, Fehler(exc.grund, fatal=True)))
            continue
        dokumente.append(_Dokument(p.name if len(dateien) > 1 or pfad.is_dir() else "", wurzel, zeilen))
    if fatal:
        yield from fatal
        return
    yield from _eintraege(dokumente)


def _eintraege(dokumente: Iterable[_Dokument]) -> Iterator[tuple[str, Eintrag]]:
    dokumente = list(dokumente)
    # Zuständigkeiten: leistung id → region (None = the import's region) → OE ids.
    zust: dict[str, dict[str | None, list[str]]] = {}
    zust_fehler: dict[str, list[str]] = {}
    online: dict[str, list[dict[str, str]]] = {}
    online_nach_id: dict[str, dict[str, str]] = {}
    for dok in dokumente:
        for z in (x for x in dok.wurzel.iter() if _ln(x.tag) == "zustaendigkeit"):
            lid = _text(_kind(z, "leistungID")) or _id(dok.vorfahr(z, "leistung"))
            oid = _text(_kind(z, "organisationseinheitID")) or _id(dok.vorfahr(z, "organisationseinheit"))
            if not lid or not oid:
                continue
            gebiete = [_code(g) for g in _kinder(z, "gebietID") if _code(g)] or [""]
            for g in gebiete:
                region = _ars(g) if g else None
                if g and region is None:
                    zust_fehler.setdefault(lid, []).append(g)
                    continue
                ziel = zust.setdefault(lid, {}).setdefault(region, [])
                if oid not in ziel:
                    ziel.append(oid)
        for od in dok.objekte("onlinedienst"):
            dienst = _onlinedienst(od)
            if dienst is None:
                continue
            online_nach_id[_id(od)] = dienst
            for lid in (_text(x) for x in _alle(od, "leistungID")):
                if lid:
                    online.setdefault(lid, []).append(dienst)

    for dok in dokumente:
        for nr, e in enumerate(dok.objekte("organisationseinheit"), 1):
            qid = _id(e)
            pos = dok.position(e, "organisationseinheit", nr, qid)
            if not qid:
                yield pos, Fehler("Die Organisationseinheit hat keine ID (Element id).")
                continue
            yield pos, _oe(e, qid)

    for dok in dokumente:
        for nr, e in enumerate(dok.objekte("leistung"), 1):
            qid = _id(e)
            pos = dok.position(e, "leistung", nr, qid)
            if not qid:
                yield pos, Fehler("Die Leistung hat keine ID (Element id).")
                continue
            try:
                felder = _leistung_felder(e, qid)
                dienste = list(online.get(qid, []))
                for ref in _alle(e, "onlinedienstID", "referenzOnlinedienst"):
                    d = online_nach_id.get(_text(ref))
                    if d and d not in dienste:
                        dienste.append(d)
                felder["onlinedienste"] = dienste
            except DatensatzFehler as exc:
                yield pos, Fehler(str(exc), qid)
                continue
            for g in zust_fehler.get(qid, []):
                yield pos, Fehler(f"Zuständigkeit: Gebiet-ID {g!r} ist kein Amtlicher Regionalschlüssel "
                                  "(bis zu 12 Ziffern); diese Zuständigkeit wird übersprungen.", qid)
            gruppen = zust.get(qid) or {None: []}
            # The core replaces Zuständigkeiten per region, so each region is its own entry.
            for region, oes in gruppen.items():
                p = pos if len(gruppen) == 1 else f"{pos}, Gebiet {region or '(ohne)'}"
                yield p, LeistungEintrag(quell_id=qid, felder=felder, zustaendig=list(oes), region=region)

"""Our canonical record shape (the demo catalogue's YAML, also accepted as JSON): dict → Eintrag."""

from __future__ import annotations

from typing import Any

from wissensdatenbank.importe.basis import DatensatzFehler, Eintrag, Fehler, LeistungEintrag, OEEintrag

_LEISTUNG_DIREKT = (
    "leistungsname",
    "leika",
    "art",
    "leistungsbezeichnung",
    "teaser",
    "kurztext",
    "volltext",
    "voraussetzungen",
    "unterlagen",
    "verfahrensablauf",
    "fristen",
    "bearbeitungsdauer",
    "formulare",
    "rechtsgrundlagen",
    "weiterfuehrende_informationen",
    "hinweise",
    "rechtsbehelf",
    "onlinedienste",
    "suchbegriffe",
    "lebenslagen",
    "sprache",
    "quelle_url",
)


def _quell_id(d: dict[str, Any]) -> str | None:
    q = d.get("quell_id", d.get("id"))
    return None if q is None or str(q).strip() == "" else str(q).strip()


def leistung_aus_dict(d: Any) -> LeistungEintrag | Fehler:
    if not isinstance(d, dict):
        return Fehler("Der Datensatz ist kein Objekt.")
    quell_id = _quell_id(d)
    if quell_id is None:
        return Fehler("Die Quell-ID (quell_id) fehlt.")
    felder: dict[str, Any] = {k: d.get(k) for k in _LEISTUNG_DIREKT if k in d}
    kosten = d.get("kosten")
    if isinstance(kosten, dict):
        felder["kosten_betrag"] = kosten.get("betrag")
        felder["kosten_betrag_bis"] = kosten.get("betrag_bis")
        felder["kosten_text"] = kosten.get("text")
    elif kosten is not None:
        felder["kosten_text"] = kosten
    for k in ("kosten_betrag", "kosten_betrag_bis", "kosten_text", "termin_moeglich", "termin_url"):
        if k in d:
            felder[k] = d[k]
    termin = d.get("termin")
    if isinstance(termin, dict):
        felder["termin_moeglich"] = bool(termin.get("moeglich", bool(termin.get("url"))))
        felder["termin_url"] = termin.get("url")
    zustaendig = d.get("zustaendig") or []
    if isinstance(zustaendig, str):
        zustaendig = [z.strip() for z in zustaendig.replace("|", ";").split(";") if z.strip()]
    if not isinstance(zustaendig, list):
        return Fehler("Feld 'zustaendig' muss eine Liste sein.", quell_id)
    return LeistungEintrag(quell_id=quell_id, felder=felder, zustaendig=[str(z) for z in zustaendig])


def oe_aus_dict(d: Any) -> OEEintrag | Fehler:
    if not isinstance(d, dict):
        return Fehler("Der Datensatz ist kein Objekt.")
    quell_id = _quell_id(d)
    if quell_id is None:
        return Fehler("Die Quell-ID (quell_id) der Organisationseinheit fehlt.")
    anschrift = d.get("anschrift") or {}
    if not isinstance(anschrift, dict):
        return Fehler("Feld 'anschrift' muss ein Objekt sein.", quell_id)
    try:
        slots = _liste_von_dicts(d.get("oeffnungszeiten"), "oeffnungszeiten")
        ausnahmen = _liste_von_dicts(d.get("ausnahmen"), "ausnahmen")
    except DatensatzFehler as exc:
        return Fehler(str(exc), quell_id)
    return OEEintrag(
        quell_id=quell_id,
        name=d.get("name") or "",
        kurzname=d.get("kurzname") or "",
        strasse=anschrift.get("strasse") or "",
        hausnummer=str(anschrift.get("hausnummer") or ""),
        plz=str(anschrift.get("plz") or ""),
        ort=anschrift.get("ort") or "",
        telefon=str(d.get("telefon") or ""),
        email=d.get("email") or "",
        web=d.get("web") or "",
        hinweis=d.get("hinweis") or "",
        oeffnungszeiten=slots,
        ausnahmen=ausnahmen,
    )


def _liste_von_dicts(wert: Any, feld: str) -> list[dict[str, Any]]:
    if not wert:
        return []
    if not isinstance(wert, list) or not all(isinstance(x, dict) for x in wert):
        raise DatensatzFehler(f"Feld {feld!r} muss eine Liste von Objekten sein.")
    return wert


def eintraege_aus_dokument(dok: Any, quelle: str) -> list[tuple[str, Eintrag]]:
    """A document {organisationseinheiten: [...], leistungen: [...]} or a bare list of Leistungen."""
    if isinstance(dok, list):
        dok = {"leistungen": dok}
    if not isinstance(dok, dict):
        return [(quelle, Fehler("Erwartet wird ein Objekt mit 'leistungen' oder eine Liste.", fatal=True))]
    aus: list[tuple[str, Eintrag]] = []
    for i, d in enumerate(dok.get("organisationseinheiten") or [], 1):
        aus.append((f"{quelle}, Organisationseinheit {i}{_id_hinweis(d)}", oe_aus_dict(d)))
    for i, d in enumerate(dok.get("leistungen") or [], 1):
        aus.append((f"{quelle}, Leistung {i}{_id_hinweis(d)}", leistung_aus_dict(d)))
    return aus


def _id_hinweis(d: Any) -> str:
    if isinstance(d, dict) and _quell_id(d):
        return f" ({_quell_id(d)})"
    return ""

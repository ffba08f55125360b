"""The last filter: act on the classified, threaded, triaged mail.

- citizen follow-up → article on its ticket (reopened per setting)
- new citizen mail → ticket in the responsible queue with suggested Leistungen; when the triage is sure and the
  Leistung's kind may be answered automatically → immediate answer mail (auto-replied) and the ticket is done,
  marked answered by the system (history field `automatisch_beantwortet`, counted by the dashboard)
- bounce of our mail → internal note on the ticket, address flagged (hard bounce: we stop writing)
- other machine mail → note on its ticket if it has one, else ignored (never answered)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import event, insert, select

from kanaele.email import speicher, versand
from kanaele.email.faden import betreff_normal, ticket_nummer_aus
from kanaele.email.kontext import Kontext
from kanaele.email.models import MailEingang
from kanaele.email.triage import zustaendige_stelle
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.status.service import OUTBOX_ART
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Kanal, Prioritaet, Ticket, TicketArtikel, TicketHistorie
from servicecenter.tickets.zustaende import Zustand
from wissensdatenbank.models import Leistung, Organisationseinheit, Zustaendigkeit

log = logging.getLogger(__name__)

VORLAGEN = Path(__file__).parent / "vorlagen"
HISTORIE_AUTO = "automatisch_beantwortet"  # history field: the system answered the ticket (dashboard count)
KLASSEN_TEXT = {
    "abwesenheit": "Abwesenheitsnotiz", "autoreply": "automatische Antwort", "verzoegerung": "Zustellverzögerung",
    "liste": "Verteiler-/Newsletter-Mail", "feedback": "Beschwerde-Rückmeldung (Feedback-Report)",
    "challenge": "Absenderbestätigung (Challenge/Response)", "lesebestaetigung": "Lesebestätigung",
    "eigene": "eigene Mail (Schleife)", "bounce": "Unzustellbarkeitsmeldung",
}
SPRACHEN = {"en": "Englisch"}
GRUND_TEXT = {
    "unbekannt": "die Adresse gibt es nicht (mehr)", "postfach_voll": "das Postfach ist voll",
    "zu_gross": "die Nachricht war zu groß", "zeitueberschreitung": "die Zustellung hat zu lange gedauert",
    "abgelehnt": "der Empfangsserver hat die Nachricht abgelehnt", "schleife": "Mailschleife beim Empfänger",
    "zustellfehler": "Fehler beim Empfangsserver", "sonstiges": "unbekannter Grund",
}


@lru_cache(maxsize=2)
def _vorlage(name: str, html: bool):
    # Plain text without escaping, HTML with autoescape (Leistung texts come from the editors, not from us).
    env = Environment(loader=FileSystemLoader(VORLAGEN), autoescape=html, keep_trailing_newline=True)
    return env.get_template(name)


# --- helpers ------------------------------------------------------------------------------------------------


def _eingangs_text(ctx: Kontext) -> str:
    mail = ctx.mail
    text = ctx.neuer_text or (mail.text or "").strip()
    if not text and not any(a.inhalt for a in mail.anhaenge):
        text = "(Die E-Mail enthält keinen Text.)"
    if ctx.mail.probleme and any(p.startswith(("MIME", "Inhalt", "Multipart")) for p in ctx.mail.probleme):
        text += "\n\n[Hinweis: Die E-Mail war fehlerhaft aufgebaut; der Text wurde so gut wie möglich gelesen.]"
    return text[:20000]


def _anhaenge(ctx: Kontext) -> list[tickets.NeuerAnhang]:
    return [tickets.NeuerAnhang(dateiname=a.dateiname, mimetyp=a.mimetyp, inhalt=a.inhalt)
            for a in ctx.mail.anhaenge if a.inhalt is not None]


def _artikel_eingang(ctx: Kontext, ticket: Ticket) -> TicketArtikel:
    artikel = tickets.artikel_anlegen(
        ctx.session, ticket, art=ArtikelArt.eingang, text=_eingangs_text(ctx), benutzer=None,
        einstellungen=ctx.ticket_einstellungen, anhaenge=_anhaenge(ctx), jetzt=ctx.jetzt,
    )
    abgelehnt = [a for a in ctx.mail.anhaenge if a.inhalt is None]
    if abgelehnt:
        _notiz(ctx, ticket, "Nicht übernommene Anhänge (Original bleibt im Mail-Eingang): "
               + ", ".join(f"{a.dateiname} ({a.abgelehnt})" for a in abgelehnt))
    return artikel


def _notiz(ctx: Kontext, ticket: Ticket, text: str) -> None:
    tickets.artikel_anlegen(ctx.session, ticket, art=ArtikelArt.notiz, text=text, benutzer=None,
                            einstellungen=ctx.ticket_einstellungen, jetzt=ctx.jetzt)


def _registrieren(ctx: Kontext, ticket: Ticket) -> None:
    ctx.eingang.ticket_id = ticket.id
    if ctx.mail.message_id:
        speicher.nachricht_registrieren(ctx.session, message_id=ctx.mail.message_id, ticket_id=ticket.id,
                                        richtung="ein", adresse=ctx.mail.von_adresse)


@contextmanager
def _ohne_status_mail(ctx: Kontext, ticket: Ticket) -> Iterator[None]:
    """Drop the status mails about `ticket` that the block queues (the answer mail already tells the citizen
    everything; or the sender's own mail caused the change). The rows are caught as the block adds them to the
    session, so exactly these are deleted (no query over the outbox), in the same transaction."""
    neue: list[OutboxEintrag] = []

    def merken(_session, obj) -> None:
        if (isinstance(obj, OutboxEintrag) and obj.art == OUTBOX_ART
                and (obj.payload or {}).get("ticket_id") == ticket.id):
            neue.append(obj)

    event.listen(ctx.session, "transient_to_pending", merken)
    try:
        yield
    finally:
        event.remove(ctx.session, "transient_to_pending", merken)
    for eintrag in neue:
        ctx.session.delete(eintrag)


# --- actions ------------------------------------------------------------------------------------------------


def aktion_ausfuehren(ctx: Kontext) -> None:
    """Filter: the action for the mail (the last step)."""
    if ctx.klasse == "bounce":
        _bounce(ctx)
    elif ctx.klasse == "eigene":
        ctx.beenden(status="ignoriert", aktion="schleife")
    elif ctx.automatisch:
        _automatisch(ctx)
    elif ctx.ticket is not None and ctx.ticket.zustand != Zustand.geschlossen:
        _folgemail(ctx)
    else:
        _neues_ticket(ctx)


def _bounce(ctx: Kontext) -> None:
    b = ctx.bounce
    ticket = ctx.ticket
    if ticket is None or b is None:
        # Not about a mail of ours we can identify: flagging addresses from it would let anyone block a citizen.
        ctx.beenden(status="ignoriert", aktion="bounce_unzugeordnet")
        return
    adressen = [a for a in b.empfaenger if a] or ([ticket.kontakt_email.lower()] if ticket.kontakt_email else [])
    if ticket.kontakt_email and ticket.kontakt_email.lower() in adressen:
        adressen = [ticket.kontakt_email.lower()]  # the ticket's address is the one that matters
    for a in adressen:
        speicher.bounce_vermerken(ctx.session, a, hart=b.hart, jetzt=ctx.jetzt,
                                  notiz=f"{ticket.nummer}: {b.grund} {b.status or ''}".strip())
    art = "dauerhaft (wir schreiben diese Adresse nicht mehr an)" if b.hart else "vorübergehend"
    text = (f"Unsere E-Mail an {', '.join(adressen) or 'die hinterlegte Adresse'} konnte nicht zugestellt werden: "
            f"{GRUND_TEXT.get(b.grund, b.grund)}"
            f"{f' (Status {b.status})' if b.status else ''}. Der Fehler ist {art}. "
            "Bitte erreichen Sie die Person auf anderem Weg (z. B. telefonisch).")
    if ticket.zustand != Zustand.geschlossen:
        _notiz(ctx, ticket, text)
    ctx.eingang.ticket_id = ticket.id
    ctx.beenden(status="verarbeitet", aktion="bounce_notiz")


def _automatisch(ctx: Kontext) -> None:
    ticket = ctx.ticket
    if ticket is not None and ticket.zustand != Zustand.geschlossen:
        text = (f"Automatisch erzeugte E-Mail erhalten ({KLASSEN_TEXT.get(ctx.klasse, ctx.klasse)}), Betreff: "
                f"„{(ctx.mail.betreff or '')[:200]}“. Sie wurde nicht beantwortet und öffnet das Ticket nicht.")
        if ctx.neuer_text:
            text += "\n\n" + ctx.neuer_text[:2000]
        _notiz(ctx, ticket, text)
        ctx.eingang.ticket_id = ticket.id
        ctx.beenden(status="verarbeitet", aktion="automatisch_notiz")
        return
    ctx.beenden(status="ignoriert", aktion="automatisch")


def _folgemail(ctx: Kontext) -> None:
    ticket = ctx.ticket
    assert ticket is not None
    _artikel_eingang(ctx, ticket)
    _registrieren(ctx, ticket)
    neu = None
    if ticket.zustand == Zustand.erledigt and ctx.einstellungen.wiedereroeffnen:
        neu = Zustand.in_bearbeitung
    elif ticket.zustand == Zustand.wartet_auf_rueckmeldung:
        neu = Zustand.in_bearbeitung  # the citizen answered what we waited for
    if neu is not None:
        # The sender just wrote to us: no status mail about the reopening their own mail caused (it would also be
        # a second mail to an auto-responder that ignores Auto-Submitted, i.e. a loop).
        with _ohne_status_mail(ctx, ticket):
            tickets.ticket_aendern(ctx.session, ticket, version=None, benutzer=None,
                                   einstellungen=ctx.ticket_einstellungen, status=neu, jetzt=ctx.jetzt)
    ctx.beenden(status="verarbeitet", aktion="artikel" if neu is None else "artikel_wiedereroeffnet")


def _prioritaet(triage) -> Prioritaet:
    try:
        return Prioritaet(triage.prioritaet) if triage else Prioritaet.normal
    except ValueError:
        return Prioritaet.normal


def _neues_ticket(ctx: Kontext) -> None:
    mail = ctx.mail
    tr = ctx.triage
    top = tr.leistung if tr else None
    sicher = bool(top and tr.konfidenz == "sicher")
    # The queue and (when sure) the Leistung are loaded here and held: ticket_anlegen's checks and the automatic
    # answer then find them in the session's identity map (which keeps objects only while something references
    # them) instead of loading them again.
    stelle = zustaendige_stelle(ctx.session, top.leistung_id, ctx.einstellungen.region) \
        if top and tr.konfidenz != "kein Treffer" else None
    queue_id = stelle.id if stelle is not None else None
    leistung = ctx.session.get(Leistung, top.leistung_id) if sicher else None
    betreff = (mail.betreff or "").strip()
    anliegen = f"{betreff}\n\n{ctx.neuer_text}".strip() or "E-Mail ohne Betreff und Text"
    vorher = ctx.ticket  # a reply to a closed ticket starts a new one that points back
    # Writing to us by e-mail is the consent to be answered by e-mail at that address (and under that name).
    buerger = tickets.BuergerDaten(name=(mail.von_name or None) and mail.von_name[:200],
                                   email=mail.von_adresse, einwilligung=bool(mail.von_adresse))
    ticket = tickets.ticket_anlegen(
        ctx.session, anliegen=anliegen[:10000], kanal=Kanal.email, benutzer=None,
        einstellungen=ctx.ticket_einstellungen, leistung_id=top.leistung_id if sicher else None,
        prioritaet=_prioritaet(tr), queue_id=queue_id, buerger=buerger if mail.von_adresse else None,
        jetzt=ctx.jetzt,
    )
    ctx.ticket = ticket
    _artikel_eingang(ctx, ticket)
    if tr is not None:  # set together with ticket_id (_registrieren), so both go out in one UPDATE
        ctx.eingang.vorschlaege = [v.als_dict() for v in tr.vorschlaege]
    _registrieren(ctx, ticket)
    if vorher is not None:
        _notiz(ctx, ticket, f"Antwort auf das geschlossene Ticket {vorher.nummer}.")
    if tr is not None and tr.sprache not in ("de", "unbekannt"):
        _notiz(ctx, ticket, f"Die E-Mail ist vermutlich nicht auf Deutsch geschrieben (erkannt: {SPRACHEN.get(tr.sprache, tr.sprache)}); "
               "sie wurde deshalb nicht automatisch beantwortet.")
    if leistung is not None and tr.sprache in ("de", "unbekannt") and _darf_automatisch_antworten(ctx, top):
        _automatisch_antworten(ctx, ticket, leistung)
        ctx.beenden(status="verarbeitet", aktion="auto_antwort")
        return
    ctx.beenden(status="verarbeitet", aktion="ticket")


AUTO_MARKE = "Diese Antwort wurde automatisch aus unserer Wissensdatenbank erstellt."


def _antwortet_auf_uns(ctx: Kontext) -> bool:
    """A mail that answers one of our mails (our Message-ID domain referenced, our ticket tag, or our automatic
    answer's text inside) but did not thread to its ticket: a forward, another person, or an auto-responder that
    ignores Auto-Submitted. Never answered automatically (that is how auto-responders ping-pong)."""
    eigene = "@" + ctx.einstellungen.domain
    if any(r.endswith(eigene) for r in ctx.mail.references + ctx.mail.in_reply_to):
        return True
    if ticket_nummer_aus(ctx.mail.betreff or ""):
        return True
    return AUTO_MARKE in (ctx.mail.text or "")


def _kuerzlich_automatisch_beantwortet(ctx: Kontext, adresse: str) -> bool:
    """RFC 3834: do not auto-answer the same address again and again (pause in minutes, from the settings)."""
    seit = ctx.jetzt - timedelta(minutes=ctx.einstellungen.auto_antwort_pause_minuten)
    return ctx.session.scalar(
        select(MailEingang.id).where(MailEingang.absender == adresse, MailEingang.aktion == "auto_antwort",
                                     MailEingang.empfangen_am >= seit, MailEingang.id != ctx.eingang.id).limit(1)
    ) is not None


def _darf_automatisch_antworten(ctx: Kontext, top) -> bool:
    e = ctx.einstellungen
    adresse = ctx.mail.von_adresse
    return bool(
        e.auto_antwort and adresse and top.art in e.auto_antwort_arten and not ctx.automatisch
        and not ctx.keine_auto_antwort and adresse != e.absender and not _antwortet_auf_uns(ctx)
        and not speicher.ist_unzustellbar(ctx.session, adresse)
        and not _kuerzlich_automatisch_beantwortet(ctx, adresse)
    )


def _stellen(ctx: Kontext, leistung_id: int) -> list[Organisationseinheit]:
    return list(ctx.session.scalars(
        select(Organisationseinheit).join(Zustaendigkeit, Zustaendigkeit.organisationseinheit_id
                                          == Organisationseinheit.id)
        .where(Zustaendigkeit.leistung_id == leistung_id, Organisationseinheit.aktiv).limit(2)
    ))


def antwort_rendern(ctx: Kontext, ticket: Ticket, leistung: Leistung) -> tuple[str, str]:
    """(plain text, HTML) of the automatic answer."""
    name = (ctx.mail.von_name or "").strip()
    anrede = "Guten Tag" + (f" {name}" if name and "@" not in name and len(name) <= 80 else "")
    werte = {
        "anrede": anrede, "l": leistung, "kurz": (leistung.kurztext or leistung.teaser or "").strip(),
        "stellen": _stellen(ctx, leistung.id), "nummer": ticket.nummer,
        "onlinedienste": [d for d in (leistung.onlinedienste or []) if isinstance(d, dict) and d.get("url")],
        "link": f"{ctx.einstellungen.oeffentliche_url}/leistungen/{leistung.id}",
    }
    text = _vorlage("antwort.txt.j2", False).render(**werte)
    html = _vorlage("antwort.html.j2", True).render(**werte)
    return text, html


def _automatisch_antworten(ctx: Kontext, ticket: Ticket, leistung: Leistung) -> None:
    text, html = antwort_rendern(ctx, ticket, leistung)
    ohne = betreff_normal(ctx.mail.betreff or "")
    betreff = f"AW: {(ctx.mail.betreff or '').strip()}" if ohne else f"Ihre Anfrage: {leistung.leistungsname}"
    betreff = f"{' '.join(betreff.split())[:180]} [{ticket.nummer}]"
    refs = list(ctx.mail.references) + ([ctx.mail.message_id] if ctx.mail.message_id else [])
    versand.mail_vormerken(
        ctx.session, an=ctx.mail.von_adresse or "", betreff=betreff, text=text, html=html, ticket_id=ticket.id,
        in_reply_to=f"<{ctx.mail.message_id}>" if ctx.mail.message_id else None,
        references=[f"<{r}>" for r in refs][-20:], automatisch="auto-replied", queue_id=ticket.queue_id,
        jetzt=ctx.jetzt, settings=ctx.einstellungen.settings,
    )
    # The answer as a message article, so the agent sees what was sent. Written directly: artikel_anlegen would
    # queue a second (plain) mail of kind ticket_nachricht for the same text.
    artikel = TicketArtikel(ticket_id=ticket.id, art=ArtikelArt.nachricht, text=text, benutzer_id=None,
                            erstellt_am=ctx.jetzt)
    ctx.session.add(artikel)
    ctx.session.flush()
    # Both history rows in one multi-row INSERT (nothing needs them as objects in this session).
    ctx.session.execute(insert(TicketHistorie), [
        {"ticket_id": ticket.id, "benutzer_id": None, "zeitpunkt": ctx.jetzt, "feld": "artikel", "alt": None,
         "neu": f"nachricht:{artikel.id}"},
        {"ticket_id": ticket.id, "benutzer_id": None, "zeitpunkt": ctx.jetzt, "feld": HISTORIE_AUTO, "alt": None,
         "neu": leistung.leistungsname[:200]},
    ])
    with _ohne_status_mail(ctx, ticket):
        tickets.ticket_aendern(ctx.session, ticket, version=None, benutzer=None,
                               einstellungen=ctx.ticket_einstellungen, status=Zustand.erledigt, jetzt=ctx.jetzt)

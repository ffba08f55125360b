"""The e-mail channel in the desk and the dashboard: suggestions on the ticket page, one-click answer, the
system's answers counted separately."""

from __future__ import annotations

from sqlalchemy import select

from servicecenter.auth.models import Rolle
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.tickets.models import ArtikelArt, Ticket, TicketArtikel
from tests.kanaele.email.pipeline_hilfe import einfache_mail, eingang, mail
from tests.servicecenter.conftest import anmelden, api_token, neuer_benutzer, test_passwort, web_client  # noqa: F401


def test_ein_klick_antwort_auf_vorschlag(verarbeitung, db_session, anmelden):  # noqa: F811
    roh = einfache_mail(betreff="Frage", text="Ich ziehe nach Halle. Muss ich mich anmelden und was brauche ich "
                                              "dafür? Und wie ist das mit dem Auto?")
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert e.aktion == "ticket" and e.vorschlaege
    ticket = db_session.get(Ticket, e.ticket_id)
    agent = anmelden(Rolle.teamleitung)
    seite = agent.client.get(f"/desk/tickets/{ticket.nummer}")
    assert seite.status_code == 200
    assert "Antwort aus der Wissensdatenbank" in seite.text
    erster = e.vorschlaege[0]
    assert f"Mit „{erster['name']}“ antworten" in seite.text
    # without the CSRF token: refused
    ohne = agent.client.post(f"/desk/tickets/{ticket.nummer}/email-antwort",
                             data={"version": ticket.version, "leistung_id": erster["leistung_id"]})
    assert ohne.status_code == 403
    # a Leistung that was not suggested: refused
    fremd = agent.post(f"/desk/tickets/{ticket.nummer}/email-antwort", data={"version": ticket.version,
                                                                              "leistung_id": 999999})
    assert fremd.status_code == 422
    r = agent.post(f"/desk/tickets/{ticket.nummer}/email-antwort",
                   data={"version": ticket.version, "leistung_id": erster["leistung_id"]}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    db_session.expire_all()
    nachricht = db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id,
                                                               TicketArtikel.art == ArtikelArt.nachricht)).one()
    assert erster["name"] in nachricht.text and "antworten Sie einfach auf diese E-Mail" in nachricht.text
    assert nachricht.benutzer_id == agent.benutzer.id
    raus = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "ticket_nachricht")).all()
    assert [o.payload["artikel_id"] for o in raus] == [nachricht.id]
    assert db_session.get(Ticket, ticket.id).leistung_id == erster["leistung_id"]


def test_dashboard_zaehlt_automatische_antworten_getrennt(verarbeitung, db_session, anmelden, uhr):  # noqa: F811
    verarbeitung.annehmen(mail("buerger_ausweis.eml"), quelle="test")  # answered by the system
    verarbeitung.annehmen(einfache_mail(betreff="Frage", text="Ich verstehe meinen Brief vom Amt nicht."),
                          quelle="test")
    leitung = anmelden(Rolle.teamleitung)
    leitung.client.app.state.uhr = lambda: uhr.jetzt
    seite = leitung.client.get("/teamleitung/dashboard?zeitraum=heute")
    assert seite.status_code == 200 and "E-Mail: automatisch beantwortet" in seite.text
    csv = leitung.client.get("/teamleitung/export/email.csv?zeitraum=heute").text.lstrip("\ufeff").splitlines()
    assert csv[1].startswith("automatisch beantwortet (System);1;")
    assert csv[2].startswith("von Mitarbeitenden bearbeitet;1;")


def test_eingangs_artikel_nur_aus_dem_mailkanal(db_session, anmelden, api_token):  # noqa: F811
    from servicecenter.settings import Settings
    from servicecenter.tickets import service as tickets
    from servicecenter.tickets.models import Kanal

    ticket = tickets.ticket_anlegen(db_session, anliegen="Test", kanal=Kanal.email, benutzer=None,
                                    einstellungen=tickets.TicketEinstellungen.aus(Settings(_env_file=None)))
    db_session.commit()
    agent = anmelden(Rolle.teamleitung)
    r = agent.post(f"/desk/tickets/{ticket.nummer}/artikel", data={"version": ticket.version, "art": "eingang",
                                                                    "text": "gefälscht"})
    assert r.status_code == 422
    zugang = api_token(Rolle.teamleitung)
    r = agent.client.post(f"/api/v1/tickets/{ticket.nummer}/artikel", json={"art": "eingang", "text": "x"},
                          headers=zugang.headers)
    assert r.status_code == 422
    assert not db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id)).all()

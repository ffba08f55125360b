"""`servicecenter benutzer …`: create users, personal API tokens, demo logins."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from servicecenter.settings import get_settings

benutzer_app = typer.Typer(help="Benutzer und API-Tokens", no_args_is_help=True)


def _sessions():
    from servicecenter.db import make_engine, make_sessionmaker
    from servicecenter.migrate import upgrade

    url = get_settings().database_url
    upgrade(url)
    return make_sessionmaker(make_engine(url))


def _fehler(text: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Fehler: {text}", err=True)
    return typer.Exit(code)


def _passwort_lesen(datei: Path | None) -> str:
    if datei is not None:
        try:
            inhalt = datei.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise _fehler(f"Die Passwort-Datei lässt sich nicht lesen ({e.__class__.__name__}).", 2) from None
        zeilen = inhalt.splitlines()
        return zeilen[0] if zeilen else ""
    return typer.prompt("Passwort", hide_input=True, confirmation_prompt="Passwort wiederholen", err=True)


@benutzer_app.command("anlegen")
def anlegen(
    name: Annotated[str, typer.Argument(help="Benutzername (a–z, 0–9, . _ -)")],
    rolle: Annotated[str, typer.Option("--rolle", help="agent | teamleitung | redaktion | admin")],
    anzeigename: Annotated[str, typer.Option("--anzeigename", help="Name, wie er angezeigt wird")] = "",
    passwort_datei: Annotated[
        Path | None, typer.Option("--passwort-datei", help="Datei, deren erste Zeile das Passwort ist")
    ] = None,
) -> None:
    """Legt einen Benutzer an (Passwort aus --passwort-datei oder verdeckt zweimal abgefragt)."""
    from servicecenter.auth import service
    from servicecenter.auth.models import Rolle
    from servicecenter.db import session_scope
    from wissensdatenbank.basis import jetzt

    if rolle not in {r.value for r in Rolle}:
        raise _fehler(f"Unbekannte Rolle {rolle!r}; erlaubt: {', '.join(r.value for r in Rolle)}.", 2)
    passwort = _passwort_lesen(passwort_datei)
    try:
        service.passwort_pruefen_regeln(passwort)
        with session_scope(_sessions()) as session:
            b = service.benutzer_anlegen(
                session, name=name, rolle=rolle, passwort=passwort, anzeigename=anzeigename, jetzt=jetzt()
            )
            typer.echo(f"Benutzer {b.name} ({b.rolle.bezeichnung}) angelegt.")
    except service.AuthFehler as e:
        raise _fehler(str(e)) from None


@benutzer_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="Benutzername")],
    bezeichnung: Annotated[str, typer.Option("--bezeichnung", help="Wofür der Token ist")] = "",
) -> None:
    """Legt einen persönlichen API-Token an und gibt NUR ihn auf stdout aus (er wird nicht gespeichert)."""
    from servicecenter.auth import service
    from servicecenter.db import session_scope
    from wissensdatenbank.basis import jetzt

    try:
        with session_scope(_sessions()) as session:
            b = service.benutzer_nach_name(session, name)
            if b is None or not b.aktiv:
                raise _fehler(f"Einen aktiven Benutzer {name!r} gibt es nicht.")
            klartext, t = service.token_anlegen(session, benutzer=b, bezeichnung=bezeichnung, jetzt=jetzt())
            praefix = t.praefix
    except service.AuthFehler as e:
        raise _fehler(str(e)) from None
    typer.echo(klartext)
    typer.echo(f"Token {praefix}… angelegt. Er wird nur jetzt angezeigt.", err=True)


@benutzer_app.command("token-widerrufen")
def token_widerrufen(praefix: Annotated[str, typer.Argument(help="Präfix des Tokens (z. B. sc115_AbCd1234)")]) -> None:
    """Widerruft einen API-Token."""
    from servicecenter.auth import service
    from servicecenter.db import session_scope
    from wissensdatenbank.basis import jetzt

    with session_scope(_sessions()) as session:
        treffer = service.tokens_mit_praefix(session, praefix.rstrip("…"))
        if not treffer:
            raise _fehler("Einen Token mit diesem Präfix gibt es nicht.")
        if len(treffer) > 1:
            raise _fehler("Das Präfix ist nicht eindeutig; bitte den ganzen Token angeben.")
        t = treffer[0]
        if service.token_widerrufen(session, token=t, jetzt=jetzt()):
            typer.echo(f"Token {t.praefix}… widerrufen.")
        else:
            typer.echo(f"Token {t.praefix}… war schon widerrufen.")


@benutzer_app.command("liste")
def liste() -> None:
    """Listet Benutzer und ihre API-Tokens."""
    from servicecenter.auth import service
    from servicecenter.db import session_scope
    from wissensdatenbank.basis import jetzt

    now = jetzt()
    with session_scope(_sessions()) as session:
        alle = service.benutzer_liste(session)
        if not alle:
            typer.echo("Es gibt noch keine Benutzer.")
            return
        for b in alle:
            status = "aktiv" if b.aktiv else "inaktiv"
            if service.ist_gesperrt(b, now):
                status = "gesperrt"
            typer.echo(f"{b.name:<24} {b.rolle.bezeichnung:<12} {status:<9} {b.anzeigename}")
            for t in service.tokens_liste(session, benutzer=b):
                zustand = "widerrufen" if t.widerrufen_am else "gültig"
                typer.echo(f"    Token {t.praefix}…  {zustand:<10} {t.bezeichnung}")


@benutzer_app.command("demo")
def demo(
    datei: Annotated[Path | None, typer.Option("--datei", help="Zieldatei (Standard: SERVICECENTER_DEMO_ZUGAENGE_DATEI)")]
    = None,
) -> None:
    """Legt die Demo-Zugänge admin und agent an, wenn es noch keine Benutzer gibt (idempotent)."""
    from servicecenter.auth import service
    from servicecenter.auth.models import Rolle
    from servicecenter.db import session_scope
    from wissensdatenbank.basis import jetzt

    ziel = datei or Path(get_settings().demo_zugaenge_datei)
    with session_scope(_sessions()) as session:
        if service.anzahl_benutzer(session):
            hinweis = f" Die Demo-Zugänge stehen in {ziel}." if ziel.exists() else ""
            typer.echo(f"Es gibt schon Benutzer; keine Demo-Zugänge angelegt.{hinweis}")
            return
        zugaenge = []
        for name, rolle, anzeige in (("admin", Rolle.admin, "Demo-Admin"), ("agent", Rolle.agent, "Demo-Agent")):
            passwort = secrets.token_urlsafe(15)
            service.benutzer_anlegen(session, name=name, rolle=rolle, passwort=passwort, anzeigename=anzeige,
                                     jetzt=jetzt())
            zugaenge.append((name, rolle, passwort))
        text = "Demo-Zugänge des Servicecenters (nur für die Erprobung; Passwörter bitte ändern):\n" + "".join(
            f"  Benutzer {name:<6} Rolle {rolle.bezeichnung:<6} Passwort {pw}\n" for name, rolle, pw in zugaenge
        )
        ziel.parent.mkdir(parents=True, exist_ok=True)
        # Created with mode 0600 from the start: no window where others could read it.
        fd = os.open(ziel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(ziel, 0o600)
    s = get_settings()
    typer.echo(text + f"Anmelden unter http://{s.host}:{s.port}/anmelden – gespeichert in {ziel} (nur für Sie lesbar).")

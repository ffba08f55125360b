"""Command line: `servicecenter serve | db upgrade | wissen import | wissen suche`."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from servicecenter.auth.cli import benutzer_app
from servicecenter.open311.cli import open311_app
from servicecenter.settings import get_settings

app = typer.Typer(help="Servicecenter 115", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Datenbank", no_args_is_help=True)
wissen_app = typer.Typer(help="Wissensdatenbank", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(wissen_app, name="wissen")
app.add_typer(benutzer_app, name="benutzer")
app.add_typer(open311_app, name="open311")

IMPORT_FORMATE = {
    "dldb": "wissensdatenbank.importe.dldb",
    "xzufi": "wissensdatenbank.importe.xzufi",
    "integreat": "wissensdatenbank.importe.integreat",
    "json": "wissensdatenbank.importe.json_import",
    "csv": "wissensdatenbank.importe.csv_import",
}


def _sessions():
    from servicecenter.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(get_settings().database_url))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse (Standard aus SERVICECENTER_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (Standard aus SERVICECENTER_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="Anzahl Prozesse")] = 1,
) -> None:
    """Startet den Webserver (aktualisiert die Datenbank beim Start)."""
    import uvicorn

    from servicecenter.logging_setup import einrichten

    s = get_settings()
    einrichten(s.log_level)
    uvicorn.run(
        "servicecenter.asgi:app",
        host=host or s.host,
        port=port or s.port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
    )


@app.command()
def worker(
    name: Annotated[str | None, typer.Option(help="Name dieses Workers (Standard: Rechner:PID)")] = None,
    einmal: Annotated[bool, typer.Option("--einmal", help="Nur eine Runde, dann beenden")] = False,
) -> None:
    """Stellt Outbox-Aufträge zu (Übergaben an Fachverfahren); läuft bis SIGTERM/Strg+C."""
    from servicecenter.logging_setup import einrichten
    from servicecenter.migrate import upgrade
    from servicecenter.worker import starten

    s = get_settings()
    einrichten(s.log_level)
    if s.db_auto_upgrade:
        upgrade(s.database_url)
    starten(s, name=name, einmal=einmal)


@app.command("mail-empfang")
def mail_empfang(
    host: Annotated[str | None, typer.Option(help="Adresse (Standard: SERVICECENTER_MAIL_EMPFANG_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (Standard: SERVICECENTER_MAIL_EMPFANG_PORT)")] = None,
    lmtp: Annotated[bool | None, typer.Option("--lmtp/--smtp", help="LMTP statt SMTP sprechen")] = None,
) -> None:
    """Nimmt E-Mails per SMTP oder LMTP an (vom Mailserver zugestellt); läuft bis SIGTERM/Strg+C."""
    from kanaele.email.empfang import starten
    from servicecenter.logging_setup import einrichten
    from servicecenter.migrate import upgrade

    s = get_settings()
    einrichten(s.log_level)
    if s.db_auto_upgrade:
        upgrade(s.database_url)
    starten(s, host=host, port=port, lmtp=lmtp)


@app.command("mail-imap")
def mail_imap(
    einmal: Annotated[bool, typer.Option("--einmal", help="Postfach einmal abrufen, dann beenden")] = False,
) -> None:
    """Ruft das Servicepostfach per IMAP ab (mit IDLE, wenn der Server es kann); läuft bis SIGTERM/Strg+C."""
    from kanaele.email.imap import starten
    from servicecenter.logging_setup import einrichten
    from servicecenter.migrate import upgrade

    s = get_settings()
    einrichten(s.log_level)
    if not s.imap_host:
        typer.echo("SERVICECENTER_IMAP_HOST ist nicht gesetzt: kein Postfach zum Abrufen.", err=True)
        raise typer.Exit(2)
    if s.db_auto_upgrade:
        upgrade(s.database_url)
    starten(s, einmal=einmal)


@app.command("mail-verarbeiten")
def mail_verarbeiten(
    ids: Annotated[list[int] | None, typer.Option("--id", help="Nur diese Eingangs-ID(s) erneut verarbeiten")] = None,
    freigeben: Annotated[list[int] | None, typer.Option(
        "--freigeben", help="Vom Tageslimit zurückgehaltene Mail(s) nach Prüfung verarbeiten")] = None,
) -> None:
    """Verarbeitet gespeicherte E-Mails erneut: ohne Optionen alle mit Status „fehler“ oder „neu“."""
    from kanaele.email.empfang import pipeline_bauen
    from servicecenter.db import make_engine, make_sessionmaker

    s = get_settings()
    v = pipeline_bauen(s, make_sessionmaker(make_engine(s.database_url)))
    if freigeben:
        ergebnisse = [v.freigeben(i) for i in freigeben]
    elif ids:
        ergebnisse = [v.verarbeiten(i) for i in ids]
    else:
        ergebnisse = v.erneut_verarbeiten()
    for e in ergebnisse:
        typer.echo(f"{e.eingang_id}: {e.status}" + (f" ({e.aktion})" if e.aktion else "")
                   + (f" – {e.fehler}" if e.fehler else ""))
    typer.echo(f"{len(ergebnisse)} Mail(s) verarbeitet, {sum(e.status == 'fehler' for e in ergebnisse)} mit Fehler.")
    if any(e.status == "fehler" for e in ergebnisse):
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bringt die Datenbank auf den neuesten Stand (Alembic)."""
    from servicecenter.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("Datenbank ist auf dem neuesten Stand.")


@wissen_app.command("import")
def wissen_import(
    pfad: Annotated[Path | None, typer.Argument(help="Datei oder Ordner der Quelle")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Den mitgelieferten Demo-Katalog laden")] = False,
    format: Annotated[str | None, typer.Option("--format", help="dldb | xzufi | integreat | json | csv")] = None,
    region: Annotated[str | None, typer.Option(help="ARS der Zuständigkeiten (Standard: SERVICECENTER_REGION)")] = None,
    nur_wenn_leer: Annotated[bool, typer.Option("--nur-wenn-leer", help="Nichts tun, wenn schon Leistungen da sind")] = False,
    teilweise: Annotated[
        bool, typer.Option("--teilweise", help="Quelle ist kein Vollexport: fehlende Einträge nicht depublizieren")
    ] = False,
    fortschritt: Annotated[bool, typer.Option(help="Fortschrittsbalken anzeigen")] = True,
) -> None:
    """Importiert Leistungen und Organisationseinheiten (idempotent, nach Quell-ID)."""
    from sqlalchemy import func, select
    from tqdm import tqdm

    from servicecenter.db import session_scope
    from servicecenter.migrate import upgrade
    from wissensdatenbank.importe.basis import importiere
    from wissensdatenbank.models import Leistung

    if demo == bool(format):
        raise typer.BadParameter("Entweder --demo oder --format FORMAT PFAD angeben.")
    s = get_settings()
    if demo:
        modul = importlib.import_module("wissensdatenbank.importe.demo")
        quelle = modul.lesen()
    else:
        if format not in IMPORT_FORMATE:
            raise typer.BadParameter(f"Unbekanntes Format {format!r}; erlaubt: {', '.join(IMPORT_FORMATE)}")
        if pfad is None:
            raise typer.BadParameter("PFAD fehlt.")
        if not pfad.exists():
            typer.echo(f"Fehler: {pfad} gibt es nicht.", err=True)
            raise typer.Exit(2)
        modul = importlib.import_module(IMPORT_FORMATE[format])
        quelle = modul.lesen(pfad)

    upgrade(s.database_url)
    sessions = _sessions()
    with session_scope(sessions) as session:
        if nur_wenn_leer and session.scalar(select(func.count(Leistung.id))):
            typer.echo("Die Wissensdatenbank enthält schon Leistungen; kein Import.")
            return
        eintraege = list(quelle)
        with tqdm(total=len(eintraege), unit=" Einträge", disable=not fortschritt, file=sys.stderr) as balken:
            bericht = importiere(
                session,
                format=modul.FORMAT,
                eintraege=eintraege,
                region=region or s.region,
                vollstaendig=not teilweise,
                fortschritt=balken.update,
            )
    for position, grund in bericht.fehler:
        typer.echo(f"FEHLER {position}: {grund}", err=True)
    for position, grund in bericht.hinweise:
        typer.echo(f"Hinweis {position}: {grund}", err=True)
    typer.echo(bericht.zusammenfassung())
    if bericht.fehler:
        raise typer.Exit(1)


@wissen_app.command("suche")
def wissen_suche(
    als_json: Annotated[bool, typer.Option("--json", help="Eine Frage je Zeile von stdin, JSON je Zeile auf stdout")] = False,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 10,
    region: Annotated[str | None, typer.Option()] = None,
    frage: Annotated[list[str] | None, typer.Argument(help="Frage (ohne --json)")] = None,
) -> None:
    """Sucht in der Wissensdatenbank."""
    from wissensdatenbank.service import Wissensdatenbank

    wdb = Wissensdatenbank(_sessions(), sync_intervall=1e9)
    wdb.aufbauen()
    fragen = (zeile.rstrip("\n") for zeile in sys.stdin) if als_json or not frage else iter([" ".join(frage)])
    for f in fragen:
        if not f.strip():
            continue
        treffer = wdb.suche(f, region=region, limit=limit)
        if als_json:
            zeile = {
                "frage": f,
                "treffer": [
                    {"id": t.id, "name": t.name, "leika": t.leika, "score": round(t.score, 4), "konfidenz": t.konfidenz}
                    for t in treffer
                ],
            }
            sys.stdout.write(json.dumps(zeile, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            typer.echo(f"Frage: {f}")
            for i, t in enumerate(treffer, 1):
                typer.echo(f"{i:2d}. {t.name}  [{t.konfidenz}, {t.score:.3f}]")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

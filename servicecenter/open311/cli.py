"""`servicecenter open311 schluessel NAME`: a new api_key for an Open311 client app."""

from __future__ import annotations

from typing import Annotated

import typer

from servicecenter.settings import get_settings

open311_app = typer.Typer(help="Open311 GeoReport v2 (Mängelmelder)", no_args_is_help=True)


@open311_app.command("schluessel")
def schluessel(name: Annotated[str, typer.Argument(help="Name der Anwendung, z. B. FixMyStreet Halle")]) -> None:
    """Legt einen neuen api_key an und gibt ihn einmalig aus (gespeichert wird nur sein Hash)."""
    from servicecenter.db import make_engine, make_sessionmaker, session_scope
    from servicecenter.migrate import upgrade
    from servicecenter.open311.service import schluessel_anlegen

    if not name.strip():
        typer.echo("Fehler: Bitte geben Sie einen Namen an.", err=True)
        raise typer.Exit(2)
    url = get_settings().database_url
    upgrade(url)
    with session_scope(make_sessionmaker(make_engine(url))) as session:
        schluessel = schluessel_anlegen(session, name=name)
    typer.echo(schluessel)
    typer.echo(f"api_key für „{name.strip()}“ angelegt. Er wird nur dieses eine Mal angezeigt.", err=True)

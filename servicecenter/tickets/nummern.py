"""Ticket numbers `115-YYYY-NNNNNN` from a per-year counter row, incremented atomically.

One `INSERT … ON CONFLICT (jahr) DO UPDATE SET wert = wert + 1 RETURNING wert` statement: on PostgreSQL the
row lock serialises concurrent creators without gaps or duplicates; SQLite serialises writers anyway.
"""

from __future__ import annotations

import re

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from servicecenter.tickets.models import TicketZaehler

MUSTER = re.compile(r"^115-(\d{4})-(\d{6})$")


def formatieren(jahr: int, laufnummer: int) -> str:
    if laufnummer > 999_999:
        raise ValueError("ticket counter exhausted for this year")
    return f"115-{jahr:04d}-{laufnummer:06d}"


def gueltig(nummer: str) -> bool:
    return MUSTER.match(nummer) is not None


def naechste_laufnummer(session: Session, jahr: int) -> int:
    dialekt = session.get_bind().dialect.name
    tabelle = TicketZaehler.__table__
    if dialekt == "postgresql":
        ins = postgresql.insert(tabelle)
    elif dialekt == "sqlite":
        ins = sqlite.insert(tabelle)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database: {dialekt}")
    stmt = (
        ins.values(jahr=jahr, wert=1)
        .on_conflict_do_update(index_elements=[tabelle.c.jahr], set_={"wert": tabelle.c.wert + 1})
        .returning(tabelle.c.wert)
    )
    return int(session.execute(stmt).scalar_one())


def naechste_nummer(session: Session, jahr: int) -> str:
    return formatieren(jahr, naechste_laufnummer(session, jahr))

"""Write side effects to the outbox; the worker (servicecenter.worker) claims and delivers them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from wissensdatenbank.basis import jetzt as _jetzt


def in_outbox(session: Session, *, art: str, payload: dict[str, Any], jetzt: datetime | None = None,
              idempotenz_schluessel: str | None = None) -> OutboxEintrag:
    """Queue one side effect in the caller's transaction. Keep personal data out of `payload` where an id
    the worker can resolve will do."""
    zeit = jetzt or _jetzt()
    eintrag = OutboxEintrag(
        art=art, payload=payload, status=OutboxStatus.offen, versuche=0, naechster_versuch=zeit, erstellt_am=zeit,
        idempotenz_schluessel=idempotenz_schluessel or str(uuid.uuid4()),
    )
    session.add(eintrag)
    session.flush()
    return eintrag


def beanspruchen(session: Session, *, arten: list[str], worker: str, lease: timedelta, limit: int = 10,
                 jetzt: datetime | None = None) -> list[int]:
    """Claim up to `limit` due rows of the given kinds for `worker` until now + lease; returns their ids.

    Due: status offen, naechster_versuch reached, and no live lease (a crashed worker's lease runs out, then
    the row is due again). On PostgreSQL the candidate rows are locked FOR UPDATE SKIP LOCKED, so concurrent
    workers never claim the same row; SQLite serialises writers anyway (run one worker there).
    The caller commits right after, so the lease is visible to others before any delivery starts.
    """
    zeit = jetzt or _jetzt()
    kandidaten = (
        select(OutboxEintrag.id)
        .where(
            OutboxEintrag.status == OutboxStatus.offen,
            OutboxEintrag.art.in_(arten),
            OutboxEintrag.naechster_versuch <= zeit,
            or_(OutboxEintrag.beansprucht_bis.is_(None), OutboxEintrag.beansprucht_bis < zeit),
        )
        .order_by(OutboxEintrag.naechster_versuch, OutboxEintrag.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        kandidaten = kandidaten.with_for_update(skip_locked=True)
    ids = list(session.scalars(kandidaten))
    if not ids:
        return []
    # Re-check the claim condition in the UPDATE itself: safe even without row locks.
    ergebnis = session.execute(
        update(OutboxEintrag)
        .where(
            OutboxEintrag.id.in_(ids),
            OutboxEintrag.status == OutboxStatus.offen,
            or_(OutboxEintrag.beansprucht_bis.is_(None), OutboxEintrag.beansprucht_bis < zeit),
        )
        .values(beansprucht_von=worker, beansprucht_bis=zeit + lease)
        .returning(OutboxEintrag.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(ergebnis.scalars())


def haelt_lease(session: Session, eintrag: OutboxEintrag, worker: str) -> bool:
    """Lock the row and check that `worker` still holds it (not taken over after a lease expiry)."""
    stmt = select(OutboxEintrag.beansprucht_von, OutboxEintrag.status).where(OutboxEintrag.id == eintrag.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    zeile = session.execute(stmt).one_or_none()
    return zeile is not None and zeile[0] == worker and zeile[1] == OutboxStatus.offen


def als_gesendet(eintrag: OutboxEintrag, *, jetzt: datetime) -> None:
    eintrag.status = OutboxStatus.gesendet
    eintrag.erledigt_am = jetzt
    eintrag.fehler = None
    eintrag.beansprucht_von = eintrag.beansprucht_bis = None


def spaeter_erneut(eintrag: OutboxEintrag, *, fehler: str, naechster_versuch: datetime) -> None:
    eintrag.fehler = fehler[:2000]
    eintrag.naechster_versuch = naechster_versuch
    eintrag.beansprucht_von = eintrag.beansprucht_bis = None


def als_fehlgeschlagen(eintrag: OutboxEintrag, *, fehler: str, jetzt: datetime) -> None:
    eintrag.status = OutboxStatus.fehlgeschlagen
    eintrag.fehler = fehler[:2000]
    eintrag.erledigt_am = jetzt
    eintrag.beansprucht_von = eintrag.beansprucht_bis = None


def erneut_einreihen(eintrag: OutboxEintrag, *, jetzt: datetime) -> None:
    """An agent's retry: the row starts over (fresh attempts and age), same idempotency key."""
    eintrag.status = OutboxStatus.offen
    eintrag.versuche = 0
    eintrag.naechster_versuch = jetzt
    eintrag.erstellt_am = jetzt
    eintrag.erledigt_am = None
    eintrag.beansprucht_von = eintrag.beansprucht_bis = None


__all__ = ["als_fehlgeschlagen", "als_gesendet", "beanspruchen", "erneut_einreihen", "haelt_lease",
           "in_outbox", "spaeter_erneut"]

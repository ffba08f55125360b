"""Write side effects to the outbox; the worker (later issue) delivers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from wissensdatenbank.basis import jetzt as _jetzt


def in_outbox(session: Session, *, art: str, payload: dict[str, Any], jetzt: datetime | None = None) -> OutboxEintrag:
    """Queue one side effect in the caller's transaction. Keep personal data out of `payload` where an id
    the worker can resolve will do."""
    zeit = jetzt or _jetzt()
    eintrag = OutboxEintrag(
        art=art, payload=payload, status=OutboxStatus.offen, versuche=0, naechster_versuch=zeit, erstellt_am=zeit
    )
    session.add(eintrag)
    session.flush()
    return eintrag

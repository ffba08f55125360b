"""Ticket states, the allowed transitions and the citizen-facing status of each state."""

from __future__ import annotations

import enum


class Zustand(enum.StrEnum):
    neu = "neu"
    in_bearbeitung = "in_bearbeitung"
    wartet_auf_rueckmeldung = "wartet_auf_rueckmeldung"  # SLA clock paused
    an_fachverfahren_uebergeben = "an_fachverfahren_uebergeben"
    erledigt = "erledigt"
    geschlossen = "geschlossen"


class Buergerstatus(enum.StrEnum):
    """Status vocabulary of the federal citizen mailbox, shown on the status page."""

    INITIATED = "INITIATED"
    SUBMITTED = "SUBMITTED"
    RECEIVED = "RECEIVED"
    PROCESSING = "PROCESSING"
    ACTION_REQUIRED = "ACTION_REQUIRED"
    COMPLETED = "COMPLETED"


ZUSTAND_TEXT: dict[Zustand, str] = {
    Zustand.neu: "neu",
    Zustand.in_bearbeitung: "in Bearbeitung",
    Zustand.wartet_auf_rueckmeldung: "wartet auf Rückmeldung",
    Zustand.an_fachverfahren_uebergeben: "an Fachverfahren übergeben",
    Zustand.erledigt: "erledigt",
    Zustand.geschlossen: "geschlossen",
}

# INITIATED and SUBMITTED belong to online channels before a ticket exists; a ticket starts as RECEIVED.
BUERGERSTATUS: dict[Zustand, Buergerstatus] = {
    Zustand.neu: Buergerstatus.RECEIVED,
    Zustand.in_bearbeitung: Buergerstatus.PROCESSING,
    Zustand.wartet_auf_rueckmeldung: Buergerstatus.ACTION_REQUIRED,
    Zustand.an_fachverfahren_uebergeben: Buergerstatus.PROCESSING,
    Zustand.erledigt: Buergerstatus.COMPLETED,
    Zustand.geschlossen: Buergerstatus.COMPLETED,
}

UEBERGAENGE: dict[Zustand, frozenset[Zustand]] = {
    Zustand.neu: frozenset({
        Zustand.in_bearbeitung, Zustand.wartet_auf_rueckmeldung, Zustand.an_fachverfahren_uebergeben,
        Zustand.erledigt, Zustand.geschlossen,
    }),
    Zustand.in_bearbeitung: frozenset({
        Zustand.wartet_auf_rueckmeldung, Zustand.an_fachverfahren_uebergeben, Zustand.erledigt, Zustand.geschlossen,
    }),
    Zustand.wartet_auf_rueckmeldung: frozenset({Zustand.in_bearbeitung, Zustand.erledigt, Zustand.geschlossen}),
    Zustand.an_fachverfahren_uebergeben: frozenset({Zustand.in_bearbeitung, Zustand.erledigt, Zustand.geschlossen}),
    Zustand.erledigt: frozenset({Zustand.in_bearbeitung, Zustand.geschlossen}),  # reopen or close
    Zustand.geschlossen: frozenset(),  # final
}

# States in which the SLA clock runs.
SLA_LAEUFT = frozenset({Zustand.neu, Zustand.in_bearbeitung, Zustand.an_fachverfahren_uebergeben})
OFFEN = frozenset(set(Zustand) - {Zustand.erledigt, Zustand.geschlossen})


def erlaubt(von: Zustand, nach: Zustand) -> bool:
    return nach in UEBERGAENGE[von]

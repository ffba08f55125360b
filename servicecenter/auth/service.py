"""Account services: users, password login with lock-out, web sessions, API tokens.

Plain functions; the session is a keyword argument; never commit (flush only).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from servicecenter.auth.models import ApiToken, Benutzer, Rolle, Sitzung

PASSWORT_MIN_LAENGE = 12
PASSWORT_MAX_LAENGE = 1024  # argon2 copes, but nobody needs more; caps the work per request
TOKEN_VORSPANN = "sc115_"
PRAEFIX_LAENGE = len(TOKEN_VORSPANN) + 8
# Updating "last used" on every request would turn each read into a write.
ZULETZT_AKTUALISIEREN = timedelta(minutes=1)

# One message for every failed login: unknown name, wrong password, locked or inactive account.
ANMELDUNG_FEHLGESCHLAGEN = (
    "Die Anmeldung ist fehlgeschlagen. Bitte prüfen Sie Benutzername und Passwort. "
    "Nach mehreren Fehlversuchen wird das Konto vorübergehend gesperrt."
)

_hasher = PasswordHasher()


class AuthFehler(ValueError):
    """A user-facing (German) validation error."""


@dataclass(frozen=True)
class Regeln:
    """Lock-out and session timeouts (from the settings)."""

    max_fehlversuche: int = 5
    sperre: timedelta = timedelta(minutes=15)
    leerlauf: timedelta = timedelta(minutes=60)
    max_dauer: timedelta = timedelta(hours=12)

    @classmethod
    def aus_settings(cls, s) -> Regeln:
        return cls(
            max_fehlversuche=s.anmeldung_max_fehlversuche,
            sperre=timedelta(minutes=s.anmeldung_sperre_minuten),
            leerlauf=timedelta(minutes=s.sitzung_leerlauf_minuten),
            max_dauer=timedelta(hours=s.sitzung_max_stunden),
        )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- passwords -------------------------------------------------------------------------------------------------


def passwort_pruefen_regeln(passwort: str) -> None:
    if len(passwort) < PASSWORT_MIN_LAENGE:
        raise AuthFehler(f"Das Passwort muss mindestens {PASSWORT_MIN_LAENGE} Zeichen lang sein.")
    if len(passwort) > PASSWORT_MAX_LAENGE:
        raise AuthFehler(f"Das Passwort darf höchstens {PASSWORT_MAX_LAENGE} Zeichen lang sein.")
    if not passwort.strip():
        raise AuthFehler("Das Passwort darf nicht nur aus Leerzeichen bestehen.")


def passwort_hashen(passwort: str) -> str:
    return _hasher.hash(passwort)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _passwort_stimmt(passwort_hash: str | None, passwort: str) -> bool:
    """Verifies in roughly constant time; an unknown user still costs one argon2 verification."""
    if len(passwort) > PASSWORT_MAX_LAENGE:
        passwort = passwort[:PASSWORT_MAX_LAENGE]
    try:
        return _hasher.verify(passwort_hash or _dummy_hash(), passwort) and passwort_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- users -----------------------------------------------------------------------------------------------------


def name_normalisieren(name: str) -> str:
    return name.strip().lower()


def _name_pruefen(name: str) -> str:
    name = name_normalisieren(name)
    if not (2 <= len(name) <= 64):
        raise AuthFehler("Der Benutzername muss 2 bis 64 Zeichen lang sein.")
    erlaubt = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    if not set(name) <= erlaubt:
        raise AuthFehler("Der Benutzername darf nur Kleinbuchstaben a–z, Ziffern, Punkt, Binde- und Unterstrich enthalten.")
    return name


def benutzer_nach_name(session: Session, name: str) -> Benutzer | None:
    return session.scalar(select(Benutzer).where(Benutzer.name == name_normalisieren(name)))


def benutzer_anlegen(
    session: Session,
    *,
    name: str,
    rolle: Rolle | str,
    passwort: str | None = None,
    passwort_hash: str | None = None,
    anzeigename: str = "",
    jetzt: datetime,
) -> Benutzer:
    """Creates a user; give the password (checked and hashed) or an existing argon2 hash."""
    name = _name_pruefen(name)
    try:
        rolle = Rolle(rolle)
    except ValueError:
        raise AuthFehler(f"Unbekannte Rolle {rolle!r}; erlaubt: {', '.join(r.value for r in Rolle)}.") from None
    if (passwort is None) == (passwort_hash is None):
        raise ValueError("exactly one of passwort / passwort_hash")
    if passwort is not None:
        passwort_pruefen_regeln(passwort)
        passwort_hash = passwort_hashen(passwort)
    anzeigename = anzeigename.strip()
    if len(anzeigename) > 200:
        raise AuthFehler("Der Anzeigename darf höchstens 200 Zeichen lang sein.")
    if benutzer_nach_name(session, name) is not None:
        raise AuthFehler(f"Den Benutzernamen {name!r} gibt es schon.")
    b = Benutzer(
        name=name,
        anzeigename=anzeigename or name,
        passwort_hash=passwort_hash,
        rolle=rolle,
        aktiv=True,
        fehlversuche=0,
        angelegt_am=jetzt,
    )
    session.add(b)
    session.flush()
    return b


def passwort_setzen(session: Session, benutzer: Benutzer, passwort: str) -> None:
    """Sets a new password and ends every web session of the user."""
    passwort_pruefen_regeln(passwort)
    benutzer.passwort_hash = passwort_hashen(passwort)
    benutzer.fehlversuche = 0
    benutzer.gesperrt_bis = None
    session.execute(delete(Sitzung).where(Sitzung.benutzer_id == benutzer.id))
    session.flush()


def benutzer_liste(session: Session) -> list[Benutzer]:
    return list(session.scalars(select(Benutzer).order_by(Benutzer.name)))


def anzahl_benutzer(session: Session) -> int:
    return session.scalar(select(func.count(Benutzer.id))) or 0


def ist_gesperrt(benutzer: Benutzer, jetzt: datetime) -> bool:
    return benutzer.gesperrt_bis is not None and benutzer.gesperrt_bis > jetzt


def entsperren(session: Session, benutzer: Benutzer) -> None:
    benutzer.gesperrt_bis = None
    benutzer.fehlversuche = 0
    session.flush()


def anmelden(session: Session, *, name: str, passwort: str, jetzt: datetime, regeln: Regeln) -> Benutzer | None:
    """Checks a password login; counts failures and locks the account after too many.

    Returns the user or None; the caller shows ANMELDUNG_FEHLGESCHLAGEN for None, whatever the reason.
    """
    benutzer = benutzer_nach_name(session, name) if name.strip() else None
    stimmt = _passwort_stimmt(benutzer.passwort_hash if benutzer else None, passwort)
    if benutzer is None or not benutzer.aktiv:
        return None
    if ist_gesperrt(benutzer, jetzt):
        # Attempts during a lock neither count nor succeed.
        return None
    if not stimmt:
        # Atomic increment: parallel guesses must not lose counts.
        session.execute(
            update(Benutzer).where(Benutzer.id == benutzer.id).values(fehlversuche=Benutzer.fehlversuche + 1)
        )
        session.refresh(benutzer, ["fehlversuche"])
        if benutzer.fehlversuche >= regeln.max_fehlversuche:
            benutzer.gesperrt_bis = jetzt + regeln.sperre
            benutzer.fehlversuche = 0
        session.flush()
        return None
    benutzer.fehlversuche = 0
    benutzer.gesperrt_bis = None
    benutzer.letzte_anmeldung = jetzt
    if _hasher.check_needs_rehash(benutzer.passwort_hash):
        benutzer.passwort_hash = passwort_hashen(passwort)
    session.flush()
    return benutzer


# --- web sessions ----------------------------------------------------------------------------------------------


def sitzung_anlegen(session: Session, *, benutzer: Benutzer, jetzt: datetime, alte_id: str | None = None) -> tuple[
    str, Sitzung
]:
    """Starts a web session; returns the random id for the cookie (only its hash is stored).

    `alte_id` is the id the browser sent before login: it is deleted, so the id always changes at login.
    """
    if alte_id:
        sitzung_beenden(session, sitzung_id=alte_id)
    sitzung_id = secrets.token_urlsafe(32)
    s = Sitzung(
        id_hash=sha256(sitzung_id),
        benutzer_id=benutzer.id,
        csrf_token=secrets.token_urlsafe(32),
        angelegt_am=jetzt,
        zuletzt_aktiv_am=jetzt,
    )
    session.add(s)
    session.flush()
    return sitzung_id, s


def sitzung_laden(session: Session, *, sitzung_id: str, jetzt: datetime, regeln: Regeln) -> Sitzung | None:
    """The live session for a cookie value, or None (expired sessions are deleted)."""
    if not sitzung_id or len(sitzung_id) > 128:
        return None
    s = session.get(Sitzung, sha256(sitzung_id))
    if s is None:
        return None
    abgelaufen = (
        s.zuletzt_aktiv_am + regeln.leerlauf <= jetzt
        or s.angelegt_am + regeln.max_dauer <= jetzt
        or not s.benutzer.aktiv
    )
    if abgelaufen:
        session.delete(s)
        session.flush()
        return None
    if jetzt - s.zuletzt_aktiv_am >= ZULETZT_AKTUALISIEREN:
        s.zuletzt_aktiv_am = jetzt
        session.flush()
    return s


def sitzung_beenden(session: Session, *, sitzung_id: str) -> None:
    session.execute(delete(Sitzung).where(Sitzung.id_hash == sha256(sitzung_id)))
    session.flush()


def abgelaufene_sitzungen_loeschen(session: Session, *, jetzt: datetime, regeln: Regeln) -> int:
    erg = session.execute(
        delete(Sitzung).where(
            (Sitzung.zuletzt_aktiv_am <= jetzt - regeln.leerlauf) | (Sitzung.angelegt_am <= jetzt - regeln.max_dauer)
        )
    )
    session.flush()
    return erg.rowcount or 0


# --- API tokens ------------------------------------------------------------------------------------------------


def token_anlegen(session: Session, *, benutzer: Benutzer, bezeichnung: str = "", jetzt: datetime) -> tuple[
    str, ApiToken
]:
    """Creates a personal API token; the clear text is returned once and never stored."""
    bezeichnung = bezeichnung.strip()
    if len(bezeichnung) > 200:
        raise AuthFehler("Die Bezeichnung darf höchstens 200 Zeichen lang sein.")
    token = TOKEN_VORSPANN + secrets.token_urlsafe(32)
    t = ApiToken(
        benutzer_id=benutzer.id,
        bezeichnung=bezeichnung,
        praefix=token[:PRAEFIX_LAENGE],
        token_hash=sha256(token),
        angelegt_am=jetzt,
    )
    session.add(t)
    session.flush()
    return token, t


def token_pruefen(session: Session, *, token: str, jetzt: datetime) -> ApiToken | None:
    """The live token for a Bearer value, or None; updates the last-used time (at most once a minute)."""
    if not token.startswith(TOKEN_VORSPANN) or len(token) > 200:
        return None
    t = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(token)))
    if t is None or t.widerrufen_am is not None or not t.benutzer.aktiv:
        return None
    if t.zuletzt_benutzt_am is None or jetzt - t.zuletzt_benutzt_am >= ZULETZT_AKTUALISIEREN:
        t.zuletzt_benutzt_am = jetzt
        session.flush()
    return t


def tokens_mit_praefix(session: Session, praefix: str) -> list[ApiToken]:
    praefix = praefix.strip()
    if len(praefix) > PRAEFIX_LAENGE:  # the whole token was given
        return list(session.scalars(select(ApiToken).where(ApiToken.token_hash == sha256(praefix))))
    return list(session.scalars(select(ApiToken).where(ApiToken.praefix == praefix)))


def token_widerrufen(session: Session, *, token: ApiToken, jetzt: datetime) -> bool:
    """Revokes a token; False when it was revoked already."""
    if token.widerrufen_am is not None:
        return False
    token.widerrufen_am = jetzt
    session.flush()
    return True


def token_nach_id(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def tokens_liste(session: Session, *, benutzer: Benutzer | None = None) -> list[ApiToken]:
    q = select(ApiToken).order_by(ApiToken.angelegt_am.desc(), ApiToken.id.desc())
    if benutzer is not None:
        q = q.where(ApiToken.benutzer_id == benutzer.id)
    return list(session.scalars(q))

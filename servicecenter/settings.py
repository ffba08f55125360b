"""Application settings (environment prefix SERVICECENTER_, optional .env file)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERVICECENTER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/servicecenter.db",
        description="SQLAlchemy URL of the database (SQLite default, PostgreSQL via postgresql+psycopg://…).",
    )
    host: str = Field(default="127.0.0.1", description="Address the web server binds to.")
    port: int = Field(default=8115, description="Port of the web server.")
    region: str = Field(
        default="150020000000",
        description="ARS of the municipality (default Halle (Saale)); used for Zuständigkeiten of imported entries.",
    )
    zeitzone: str = Field(default="Europe/Berlin", description="Time zone for opening hours.")
    feiertage_land: str = Field(default="ST", description="Subdivision for public holidays (library `holidays`).")
    log_level: str = Field(default="INFO", description="Log level.")
    db_auto_upgrade: bool = Field(default=True, description="Run Alembic migrations when the server starts.")
    suche_index_beim_start: bool = Field(
        default=True, description="Build the search index from the database when the server starts."
    )
    # --- accounts and access (servicecenter.auth) ---
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie only over HTTPS (turn off only for plain-HTTP localhost)."
    )
    sitzung_leerlauf_minuten: int = Field(
        default=60, ge=1, description="Web session ends after this many minutes without a request."
    )
    sitzung_max_stunden: int = Field(
        default=12, ge=1, description="Web session ends this many hours after login, active or not."
    )
    anmeldung_max_fehlversuche: int = Field(
        default=5, ge=1, description="Failed logins in a row before the account is locked."
    )
    anmeldung_sperre_minuten: int = Field(default=15, ge=1, description="How long a locked account stays locked.")
    demo_zugaenge_datei: str = Field(
        default="var/demo-zugaenge.txt",
        description="Where `servicecenter benutzer demo` writes the demo logins (mode 0600).",
    )
    # --- tickets, SLA, contacts ---
    sla_stunden: float = Field(default=24, gt=0, description="Service hours until a forwarded inquiry is due.")
    sla_wochentage: str = Field(default="Mo-Fr", description="Service weekdays, e.g. `Mo-Fr` or `Mo-Do,Sa`.")
    sla_beginn: time = Field(default=time(8, 0), description="Start of the daily service window (local time).")
    sla_ende: time = Field(default=time(18, 0), description="End of the daily service window (local time).")
    sla_bald_faellig_stunden: float = Field(
        default=4, ge=0, description="A ticket counts as due soon within this many service hours of its due time."
    )
    anhang_max_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Maximum size of one ticket attachment in bytes."
    )
    # --- telephony (CTI) and dashboard ---
    cti_token: str = Field(
        default="",
        description="Secret in the CTI URL /api/v1/cti/{token} for the PBX (empty: CTI switched off, every call 401).",
    )
    cti_region: str = Field(default="DE", description="Default region for phone numbers without country code.")
    servicelevel_sekunden: int = Field(
        default=30, ge=1, description="A call counts as within the service level when answered within this many seconds."
    )
    sse_keepalive_sekunden: float = Field(
        default=15, gt=0, description="Interval of keep-alive comments on the screen-pop event stream."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()

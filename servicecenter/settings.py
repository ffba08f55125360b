"""Application settings (environment prefix SERVICECENTER_, optional .env file)."""

from __future__ import annotations

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


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Application settings (environment prefix SERVICECENTER_, optional .env file)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
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

    @field_validator("feiertage_land")
    @classmethod
    def _land_bekannt(cls, wert: str) -> str:
        # checked here, not at the first opening-hours question (the server loads the calendar at start)
        import holidays

        if wert not in holidays.Germany.subdivisions:
            raise ValueError(f"unknown Land {wert!r}; one of {', '.join(holidays.Germany.subdivisions)}")
        return wert

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
    # --- citizen status page and Open311 ---
    oeffentliche_url: str = Field(
        default="http://127.0.0.1:8115",
        description="Public base URL of this server, used for the status link in e-mails and Open311 discovery.",
    )
    status_max_versuche: int = Field(
        default=10, ge=1, description="Status look-ups (page and API) allowed per client IP within the window."
    )
    status_fenster_sekunden: int = Field(
        default=600, ge=1, description="Sliding window of the status look-up limit, in seconds."
    )
    open311_jurisdiction_id: str = Field(
        default="halle.de",
        description="Open311 jurisdiction_id; requests may omit it, another value gets 404.",
    )
    open311_kontakt: str = Field(
        default="Stadt Halle (Saale), Behördennummer 115 (Mo–Fr 8–18 Uhr), Bürgertelefon 0345 221-0",
        description="Human-readable contact in Open311 discovery.",
    )
    open311_bbox: str = Field(
        default="11.83,51.40,12.12,51.56",
        description="Open311: reports with lat/long outside minLng,minLat,maxLng,maxLat are refused (400).",
    )

    # --- hand-off to Fachverfahren (servicecenter.uebergabe) and the outbox worker ---
    uebergabe_adapter: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"email": {"typ": "email"}},
        description="JSON: adapter instances by name, each with `typ` (rest, fitconnect, email) and its parameters.",
    )
    uebergabe_zuordnung: dict[str, str] = Field(
        default_factory=lambda: {"*": "email"},
        description='JSON: queue (Organisationseinheit id) to adapter name; "*" for all other queues.',
    )
    uebergabe_backoff_basis_sekunden: float = Field(
        default=10, gt=0, description="First retry pause of a failed delivery; doubles per attempt (with jitter)."
    )
    uebergabe_backoff_max_sekunden: float = Field(default=1800, gt=0, description="Longest pause between attempts.")
    uebergabe_max_alter_stunden: float = Field(
        default=72, gt=0, description="After this age a delivery is given up: „Übergabe fehlgeschlagen“."
    )
    worker_intervall_sekunden: float = Field(default=2, gt=0, description="Worker pause when nothing is due.")
    worker_lease_sekunden: float = Field(
        default=120, gt=0,
        description="How long a worker holds a claimed outbox row; after it, another worker retries the row.",
    )
    worker_stapel: int = Field(default=20, ge=1, description="Outbox rows a worker claims per round.")
    # --- e-mail: transport (kanaele.email) ---
    smtp_host: str = Field(
        default="", description="SMTP server for outgoing mail (empty: sending off, mails stay queued in the outbox)."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server (587 STARTTLS, 465 TLS).")
    smtp_sicherheit: Literal["none", "starttls", "tls"] = Field(
        default="starttls", description="Transport security to the SMTP server: none, starttls or tls (implicit)."
    )
    smtp_benutzer: str = Field(default="", description="SMTP login (empty: no authentication).")
    smtp_passwort: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_timeout_sekunden: float = Field(default=30, gt=0, description="Timeout of one SMTP conversation step.")
    mail_absender: str = Field(default="115@halle.example", description="Our From address (also how loops are spotted).")
    mail_absender_name: str = Field(
        default="Servicecenter 115 der Stadt Halle (Saale)", description="Display name in the From header."
    )
    mail_domain: str = Field(default="halle.example", description="Domain of the Message-IDs we generate (threading).")
    mail_max_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest inbound mail; bigger ones are politely refused (552)."
    )
    mail_signatur: dict[str, str] = Field(
        default_factory=lambda: {"*": "Servicecenter 115 der Stadt Halle (Saale)\n"
                                      "Behördennummer 115, Mo–Fr 8–18 Uhr"},
        description='JSON: signature per queue (Organisationseinheit id) → text; "*" for all other queues.',
    )
    mail_empfang_host: str = Field(default="127.0.0.1", description="Address the SMTP/LMTP receiver binds to.")
    mail_empfang_port: int = Field(default=8025, ge=1, le=65535, description="Port of the SMTP/LMTP receiver.")
    mail_empfang_lmtp: bool = Field(default=False, description="Speak LMTP instead of SMTP (delivery from an MTA).")
    mail_empfang_adressen: list[str] = Field(
        default_factory=list,
        description="JSON list of accepted recipients (`adr@domain` or `@domain`); empty: accept every recipient.",
    )
    imap_host: str = Field(default="", description="IMAP server of the service mailbox (empty: IMAP polling off).")
    imap_port: int = Field(default=993, ge=1, le=65535, description="IMAP port (993 with SSL, 143 without).")
    imap_ssl: bool = Field(default=True, description="Connect to IMAP over TLS (implicit SSL).")
    imap_benutzer: str = Field(default="", description="IMAP login.")
    imap_passwort: SecretStr = Field(default=SecretStr(""), description="IMAP password.")
    imap_ordner: str = Field(default="INBOX", description="Folder polled for new mail.")
    imap_ordner_verarbeitet: str = Field(default="Verarbeitet", description="Processed mails are moved here.")
    imap_ordner_fehler: str = Field(default="Fehler", description="Mails that could not be stored are moved here.")
    imap_ordner_abgelehnt: str = Field(default="Abgelehnt", description="Mails over `mail_max_bytes` are moved here.")
    imap_idle: bool = Field(default=True, description="Wait with IMAP IDLE when the server supports it.")
    imap_intervall_sekunden: float = Field(
        default=60, gt=0, description="Polling interval without IDLE; also the longest IDLE wait before a re-check."
    )
    # --- e-mail: receiving pipeline (kanaele.email) ---
    mail_auto_antwort: bool = Field(
        default=True, description="Answer a citizen mail at once from the knowledge base when the triage is sure."
    )
    mail_auto_antwort_arten: list[str] = Field(
        default_factory=lambda: ["leistung"],
        description='JSON list of Leistung kinds (`leistung`, `maengelmeldung`) that may be answered automatically.',
    )
    mail_auto_antwort_pause_minuten: int = Field(
        default=60, ge=0, description="No second automatic answer to the same address within this many minutes."
    )
    mail_max_pro_absender_tag: int = Field(
        default=40, ge=1, description="Mails per sender address within 24 hours; more are held for review."
    )
    mail_wiedereroeffnen: bool = Field(
        default=True, description="A citizen reply to a done ticket reopens it (else it is only added as an article)."
    )
    mail_faden_tage: int = Field(
        default=30, ge=1, description="A reply matched by its subject alone (AW:/WG:) joins a ticket this many days old."
    )
    mail_vorschlaege: int = Field(default=3, ge=1, le=10, description="Suggested Leistungen stored on an e-mail ticket.")
    mail_roh_aufbewahren_tage: int = Field(
        default=90, ge=1, description="Raw mails are deleted after this many days (data protection); the record stays."
    )
    mail_anhang_max_anzahl: int = Field(default=20, ge=0, description="Attachments taken from one mail; more are dropped.")

    # --- chat (kanaele.chat) ---
    chat_rasa_urls: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:5005"],
        description="JSON list of Rasa server base URLs; a new conversation goes to the least busy one and stays there.",
    )
    chat_rasa_token: SecretStr = Field(
        default=SecretStr(""), description="Rasa's --auth-token, for the tracker events when handing a chat back to the bot."
    )
    chat_bot_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token of the bot's actions for /api/v1/chat/bot/… (empty: those endpoints answer 503).",
    )
    chat_rasa_timeout_sekunden: float = Field(
        default=10, gt=0, description="How long a chat turn waits for Rasa before the citizen gets an apology."
    )
    chat_max_zeichen: int = Field(default=1000, ge=1, description="Longest chat message of a citizen, in characters.")
    chat_max_nachrichten_gespraech: int = Field(
        default=20, ge=1, description="Messages one conversation may send within `chat_fenster_sekunden` (else 429)."
    )
    chat_max_nachrichten_client: int = Field(
        default=60, ge=1, description="Messages one client IP may send within `chat_fenster_sekunden` (else 429)."
    )
    chat_fenster_sekunden: int = Field(default=60, ge=1, description="Sliding window of the two chat limits.")
    chat_agent_online_sekunden: int = Field(
        default=60, ge=5, description="An agent counts as online for chats this long after the chat queue page last polled."
    )
    chat_servicezeiten_pruefen: bool = Field(
        default=True,
        description="Hand chats to agents only within the service hours (sla_*); off: whenever an agent is online.",
    )
    chat_sse_abfrage_sekunden: float = Field(
        default=2, gt=0, description="The widget's event stream also re-reads the database this often (several processes)."
    )
    chat_cors_origins: list[str] = Field(
        default_factory=list,
        description="JSON list of web origins (https://www.halle.de) whose pages may embed the chat widget "
                    "(CORS on the citizen chat API only); empty: same origin only.",
    )
    chat_aufbewahren_tage: int = Field(
        default=90, ge=1,
        description="Chat transcripts are deleted this many days after their last message (a ticket made from a chat "
                    "keeps its own copy).",
    )

@lru_cache
def get_settings() -> Settings:
    return Settings()

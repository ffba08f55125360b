"""tickets, kontakte, outbox, textbausteine, benutzer_queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 05:02:04.967453
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("art", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "offen", "gesendet", "fehlgeschlagen", name="outbox_status", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("versuche", sa.Integer(), nullable=False),
        sa.Column("naechster_versuch", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_status_naechster_versuch", ["status", "naechster_versuch"], unique=False
        )

    op.create_table(
        "textbaustein",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("aktiv", sa.Boolean(), nullable=False),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_textbaustein")),
        sa.UniqueConstraint("name", name=op.f("uq_textbaustein_name")),
    )
    op.create_table(
        "ticket_zaehler",
        sa.Column("jahr", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("wert", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("jahr", name=op.f("pk_ticket_zaehler")),
    )
    op.create_table(
        "benutzer_queue",
        sa.Column("benutzer_id", sa.Integer(), nullable=False),
        sa.Column("organisationseinheit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["benutzer_id"],
            ["benutzer.id"],
            name=op.f("fk_benutzer_queue_benutzer_id_benutzer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisationseinheit_id"],
            ["organisationseinheit.id"],
            name=op.f("fk_benutzer_queue_organisationseinheit_id_organisationseinheit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("benutzer_id", "organisationseinheit_id", name=op.f("pk_benutzer_queue")),
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nummer", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("leistung_id", sa.Integer(), nullable=True),
        sa.Column("anliegen", sa.Text(), nullable=False),
        sa.Column(
            "kanal",
            sa.Enum("telefon", "email", "chat", "vor_ort", name="ticket_kanal", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "prioritaet",
            sa.Enum(
                "niedrig",
                "normal",
                "hoch",
                "dringend",
                name="ticket_prioritaet",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "zustand",
            sa.Enum(
                "neu",
                "in_bearbeitung",
                "wartet_auf_rueckmeldung",
                "an_fachverfahren_uebergeben",
                "erledigt",
                "geschlossen",
                name="ticket_zustand",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "buergerstatus",
            sa.Enum(
                "INITIATED",
                "SUBMITTED",
                "RECEIVED",
                "PROCESSING",
                "ACTION_REQUIRED",
                "COMPLETED",
                name="ticket_buergerstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("kontakt_name", sa.String(length=200), nullable=True),
        sa.Column("kontakt_telefon", sa.String(length=50), nullable=True),
        sa.Column("kontakt_email", sa.String(length=254), nullable=True),
        sa.Column("einwilligung", sa.Boolean(), nullable=False),
        sa.Column("einwilligung_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("faellig_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_pausiert_seit", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rueckruf_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erledigt_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("externe_vorgangs_id", sa.String(length=200), nullable=True),
        sa.Column("zugangscode_hash", sa.String(length=200), nullable=True),
        sa.Column("zusammengefuehrt_in_id", sa.Integer(), nullable=True),
        sa.Column("erstellt_von_id", sa.Integer(), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aktualisiert_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["benutzer.id"], name=op.f("fk_ticket_assignee_id_benutzer"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["erstellt_von_id"],
            ["benutzer.id"],
            name=op.f("fk_ticket_erstellt_von_id_benutzer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["leistung_id"], ["leistung.id"], name=op.f("fk_ticket_leistung_id_leistung"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["organisationseinheit.id"],
            name=op.f("fk_ticket_queue_id_organisationseinheit"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["zusammengefuehrt_in_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_zusammengefuehrt_in_id_ticket"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("nummer", name=op.f("uq_ticket_nummer")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_assignee_zustand", ["assignee_id", "zustand"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ticket_externe_vorgangs_id"), ["externe_vorgangs_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ticket_faellig_am"), ["faellig_am"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_leistung_id"), ["leistung_id"], unique=False)
        batch_op.create_index("ix_ticket_queue_zustand", ["queue_id", "zustand"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_zustand"), ["zustand"], unique=False)

    op.create_table(
        "kontakt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kanal",
            sa.Enum(
                "telefon", "email", "chat", "vor_ort", name="kontakt_kanal", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("leistung_id", sa.Integer(), nullable=True),
        sa.Column(
            "ergebnis",
            sa.Enum(
                "beim_erstkontakt_beantwortet",
                "weitergeleitet",
                "rueckruf_vereinbart",
                name="kontakt_ergebnis",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("anliegen", sa.Text(), nullable=False),
        sa.Column("dauer_sekunden", sa.Integer(), nullable=True),
        sa.Column("rueckruf_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("anruf_id", sa.String(length=200), nullable=True),
        sa.Column("kontakt_name", sa.String(length=200), nullable=True),
        sa.Column("kontakt_telefon", sa.String(length=50), nullable=True),
        sa.Column("kontakt_email", sa.String(length=254), nullable=True),
        sa.Column("einwilligung", sa.Boolean(), nullable=False),
        sa.Column("einwilligung_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("benutzer_id", sa.Integer(), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["benutzer_id"],
            ["benutzer.id"],
            name=op.f("fk_kontakt_benutzer_id_benutzer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["leistung_id"],
            ["leistung.id"],
            name=op.f("fk_kontakt_leistung_id_leistung"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_kontakt_ticket_id_ticket"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kontakt")),
    )
    with op.batch_alter_table("kontakt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kontakt_anruf_id"), ["anruf_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kontakt_benutzer_id"), ["benutzer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kontakt_ergebnis"), ["ergebnis"], unique=False)
        batch_op.create_index(batch_op.f("ix_kontakt_erstellt_am"), ["erstellt_am"], unique=False)
        batch_op.create_index(batch_op.f("ix_kontakt_kanal"), ["kanal"], unique=False)
        batch_op.create_index(batch_op.f("ix_kontakt_leistung_id"), ["leistung_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kontakt_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_artikel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column(
            "art",
            sa.Enum("notiz", "nachricht", name="artikel_art", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("benutzer_id", sa.Integer(), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["benutzer_id"],
            ["benutzer.id"],
            name=op.f("fk_ticket_artikel_benutzer_id_benutzer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_artikel_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_artikel")),
    )
    with op.batch_alter_table("ticket_artikel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_artikel_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_historie",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("benutzer_id", sa.Integer(), nullable=True),
        sa.Column("zeitpunkt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("feld", sa.String(length=50), nullable=False),
        sa.Column("alt", sa.Text(), nullable=True),
        sa.Column("neu", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["benutzer_id"],
            ["benutzer.id"],
            name=op.f("fk_ticket_historie_benutzer_id_benutzer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_historie_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_historie")),
    )
    with op.batch_alter_table("ticket_historie", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_historie_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_anhang",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artikel_id", sa.Integer(), nullable=False),
        sa.Column("dateiname", sa.String(length=255), nullable=False),
        sa.Column("mimetyp", sa.String(length=100), nullable=False),
        sa.Column("groesse", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("inhalt", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artikel_id"],
            ["ticket_artikel.id"],
            name=op.f("fk_ticket_anhang_artikel_id_ticket_artikel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_anhang")),
    )
    with op.batch_alter_table("ticket_anhang", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_anhang_artikel_id"), ["artikel_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_anhang", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_anhang_artikel_id"))

    op.drop_table("ticket_anhang")
    with op.batch_alter_table("ticket_historie", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_historie_ticket_id"))

    op.drop_table("ticket_historie")
    with op.batch_alter_table("ticket_artikel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_artikel_ticket_id"))

    op.drop_table("ticket_artikel")
    with op.batch_alter_table("kontakt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kontakt_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_kontakt_leistung_id"))
        batch_op.drop_index(batch_op.f("ix_kontakt_kanal"))
        batch_op.drop_index(batch_op.f("ix_kontakt_erstellt_am"))
        batch_op.drop_index(batch_op.f("ix_kontakt_ergebnis"))
        batch_op.drop_index(batch_op.f("ix_kontakt_benutzer_id"))
        batch_op.drop_index(batch_op.f("ix_kontakt_anruf_id"))

    op.drop_table("kontakt")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_zustand"))
        batch_op.drop_index("ix_ticket_queue_zustand")
        batch_op.drop_index(batch_op.f("ix_ticket_leistung_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_faellig_am"))
        batch_op.drop_index(batch_op.f("ix_ticket_externe_vorgangs_id"))
        batch_op.drop_index("ix_ticket_assignee_zustand")

    op.drop_table("ticket")
    op.drop_table("benutzer_queue")
    op.drop_table("ticket_zaehler")
    op.drop_table("textbaustein")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_naechster_versuch")

    op.drop_table("outbox")

"""auth: benutzer, sitzung, api_token

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benutzer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("anzeigename", sa.String(length=200), nullable=False),
        sa.Column("passwort_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "rolle",
            sa.Enum("agent", "teamleitung", "redaktion", "admin", name="benutzer_rolle", native_enum=False,
                    length=20, create_constraint=True),
            nullable=False,
        ),
        sa.Column("aktiv", sa.Boolean(), nullable=False),
        sa.Column("fehlversuche", sa.Integer(), nullable=False),
        sa.Column("gesperrt_bis", sa.DateTime(timezone=True), nullable=True),
        sa.Column("letzte_anmeldung", sa.DateTime(timezone=True), nullable=True),
        sa.Column("angelegt_am", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benutzer")),
        sa.UniqueConstraint("name", name=op.f("uq_benutzer_name")),
    )
    op.create_table(
        "sitzung",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("benutzer_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("angelegt_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zuletzt_aktiv_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["benutzer_id"], ["benutzer.id"], name=op.f("fk_sitzung_benutzer_id_benutzer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sitzung")),
    )
    op.create_index(op.f("ix_sitzung_benutzer_id"), "sitzung", ["benutzer_id"], unique=False)
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benutzer_id", sa.Integer(), nullable=False),
        sa.Column("bezeichnung", sa.String(length=200), nullable=False),
        sa.Column("praefix", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("angelegt_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zuletzt_benutzt_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("widerrufen_am", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["benutzer_id"], ["benutzer.id"], name=op.f("fk_api_token_benutzer_id_benutzer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_benutzer_id"), "api_token", ["benutzer_id"], unique=False)
    op.create_index(op.f("ix_api_token_praefix"), "api_token", ["praefix"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_token_praefix"), table_name="api_token")
    op.drop_index(op.f("ix_api_token_benutzer_id"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index(op.f("ix_sitzung_benutzer_id"), table_name="sitzung")
    op.drop_table("sitzung")
    op.drop_table("benutzer")

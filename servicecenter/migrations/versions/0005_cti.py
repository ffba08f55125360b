"""anruf (CTI call log)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anruf",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column(
            "richtung",
            sa.Enum("in", "out", name="anruf_richtung", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "zustand",
            sa.Enum(
                "klingelt", "angenommen", "verpasst", "beendet", name="anruf_zustand", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("von_roh", sa.String(length=100), nullable=False),
        sa.Column("von_e164", sa.String(length=20), nullable=True),
        sa.Column("an_roh", sa.String(length=100), nullable=False),
        sa.Column("an_e164", sa.String(length=20), nullable=True),
        sa.Column("nummer_ungeprueft", sa.Boolean(), nullable=False),
        sa.Column("anonym", sa.Boolean(), nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("agenten", sa.String(length=1000), nullable=False),
        sa.Column("ursache", sa.String(length=50), nullable=False),
        sa.Column("beginn", sa.DateTime(timezone=True), nullable=False),
        sa.Column("angenommen_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("beendet_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("beginn_unbekannt", sa.Boolean(), nullable=False),
        sa.Column("rueckruf_ticket_id", sa.Integer(), nullable=True),
        sa.Column("rueckruf_von_id", sa.Integer(), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rueckruf_ticket_id"], ["ticket.id"], ondelete="SET NULL",
                                name=op.f("fk_anruf_rueckruf_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["rueckruf_von_id"], ["benutzer.id"], ondelete="SET NULL",
                                name=op.f("fk_anruf_rueckruf_von_id_benutzer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anruf")),
        sa.UniqueConstraint("call_id", name=op.f("uq_anruf_call_id")),
    )
    op.create_index(op.f("ix_anruf_zustand"), "anruf", ["zustand"])
    op.create_index(op.f("ix_anruf_von_e164"), "anruf", ["von_e164"])
    op.create_index(op.f("ix_anruf_an_e164"), "anruf", ["an_e164"])
    op.create_index(op.f("ix_anruf_beginn"), "anruf", ["beginn"])


def downgrade() -> None:
    op.drop_index(op.f("ix_anruf_beginn"), table_name="anruf")
    op.drop_index(op.f("ix_anruf_an_e164"), table_name="anruf")
    op.drop_index(op.f("ix_anruf_von_e164"), table_name="anruf")
    op.drop_index(op.f("ix_anruf_zustand"), table_name="anruf")
    op.drop_table("anruf")

"""chat_gespraech, chat_nachricht, chat_praesenz (chat channel)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_gespraech",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("eigentuemer", sa.Enum("bot", "warteschlange", "mensch", name="chat_eigentuemer",
                                         native_enum=False, length=40), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("leistung_id", sa.Integer(), nullable=True),
        sa.Column("rasa_url", sa.String(length=500), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("ticket_angeboten", sa.Boolean(), nullable=False),
        sa.Column("uebergabe_grund", sa.String(length=500), nullable=True),
        sa.Column("uebergabe_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("letzte_aktivitaet_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["benutzer.id"], name=op.f("fk_chat_gespraech_agent_id_benutzer"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["leistung_id"], ["leistung.id"],
                                name=op.f("fk_chat_gespraech_leistung_id_leistung"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_chat_gespraech_ticket_id_ticket"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_gespraech")),
    )
    with op.batch_alter_table("chat_gespraech", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_gespraech_eigentuemer"), ["eigentuemer"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_gespraech_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_gespraech_letzte_aktivitaet_am"), ["letzte_aktivitaet_am"],
                              unique=False)
    op.create_table(
        "chat_nachricht",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gespraech_id", sa.String(length=64), nullable=False),
        sa.Column("von", sa.Enum("bot", "buerger", "agent", "system", name="chat_von", native_enum=False,
                                 length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["gespraech_id"], ["chat_gespraech.id"],
                                name=op.f("fk_chat_nachricht_gespraech_id_chat_gespraech"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_id"], ["benutzer.id"], name=op.f("fk_chat_nachricht_agent_id_benutzer"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_nachricht")),
    )
    with op.batch_alter_table("chat_nachricht", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_nachricht_gespraech_id"), ["gespraech_id"], unique=False)
    op.create_table(
        "chat_praesenz",
        sa.Column("benutzer_id", sa.Integer(), nullable=False),
        sa.Column("zuletzt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["benutzer_id"], ["benutzer.id"], name=op.f("fk_chat_praesenz_benutzer_id_benutzer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("benutzer_id", name=op.f("pk_chat_praesenz")),
    )


def downgrade() -> None:
    op.drop_table("chat_praesenz")
    with op.batch_alter_table("chat_nachricht", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_nachricht_gespraech_id"))
    op.drop_table("chat_nachricht")
    with op.batch_alter_table("chat_gespraech", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_gespraech_letzte_aktivitaet_am"))
        batch_op.drop_index(batch_op.f("ix_chat_gespraech_agent_id"))
        batch_op.drop_index(batch_op.f("ix_chat_gespraech_eigentuemer"))
    op.drop_table("chat_gespraech")

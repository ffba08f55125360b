"""mail_eingang, mail_nachricht, mail_adresse (e-mail channel)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_eingang",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("empfangen_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quelle", sa.String(length=20), nullable=False),
        sa.Column("umschlag_von", sa.String(length=320), nullable=True),
        sa.Column("umschlag_an", sa.JSON(), nullable=False),
        sa.Column("groesse", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("roh", sa.LargeBinary(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("absender", sa.String(length=320), nullable=True),
        sa.Column("betreff", sa.String(length=998), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("aktion", sa.String(length=40), nullable=True),
        sa.Column("klasse", sa.String(length=40), nullable=True),
        sa.Column("fehler", sa.Text(), nullable=True),
        sa.Column("vorschlaege", sa.JSON(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("verarbeitet_am", sa.DateTime(timezone=True), nullable=True),
        sa.Column("roh_geloescht_am", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_mail_eingang_ticket_id_ticket"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_eingang")),
    )
    with op.batch_alter_table("mail_eingang", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_eingang_empfangen_am"), ["empfangen_am"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_eingang_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_eingang_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_eingang_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index("ix_mail_eingang_absender_empfangen", ["absender", "empfangen_am"], unique=False)

    op.create_table(
        "mail_nachricht",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("richtung", sa.String(length=3), nullable=False),
        sa.Column("adresse", sa.String(length=320), nullable=True),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_mail_nachricht_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_nachricht")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_nachricht_message_id")),
    )
    with op.batch_alter_table("mail_nachricht", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_nachricht_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "mail_adresse",
        sa.Column("adresse", sa.String(length=320), nullable=False),
        sa.Column("unzustellbar_seit", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounce_art", sa.String(length=10), nullable=True),
        sa.Column("bounce_anzahl", sa.Integer(), nullable=False),
        sa.Column("notiz", sa.Text(), nullable=True),
        sa.Column("aktualisiert_am", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("adresse", name=op.f("pk_mail_adresse")),
    )


def downgrade() -> None:
    op.drop_table("mail_adresse")
    with op.batch_alter_table("mail_nachricht", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_nachricht_ticket_id"))
    op.drop_table("mail_nachricht")
    with op.batch_alter_table("mail_eingang", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_eingang_absender_empfangen")
        batch_op.drop_index(batch_op.f("ix_mail_eingang_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_mail_eingang_status"))
        batch_op.drop_index(batch_op.f("ix_mail_eingang_message_id"))
        batch_op.drop_index(batch_op.f("ix_mail_eingang_empfangen_am"))
    op.drop_table("mail_eingang")

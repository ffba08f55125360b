"""open311_schluessel, open311_meldung (citizen status needs no table: ticket.zugangscode_hash exists)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_schluessel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("schluessel_hash", sa.String(length=64), nullable=False),
        sa.Column("aktiv", sa.Boolean(), nullable=False),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zuletzt_benutzt_am", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_schluessel")),
        sa.UniqueConstraint("schluessel_hash", name=op.f("uq_open311_schluessel_schluessel_hash")),
    )
    op.create_table(
        "open311_meldung",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("schluessel_id", sa.Integer(), nullable=True),
        sa.Column("service_code", sa.String(length=200), nullable=False),
        sa.Column("beschreibung", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("adresse", sa.String(length=500), nullable=True),
        sa.Column("adress_id", sa.String(length=200), nullable=True),
        sa.Column("media_urls", sa.JSON(), nullable=False),
        sa.Column("attribute", sa.JSON(), nullable=False),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_open311_meldung_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["schluessel_id"], ["open311_schluessel.id"],
            name=op.f("fk_open311_meldung_schluessel_id_open311_schluessel"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_meldung")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_open311_meldung_ticket_id")),
    )
    with op.batch_alter_table("open311_meldung", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open311_meldung_service_code"), ["service_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_open311_meldung_erstellt_am"), ["erstellt_am"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("open311_meldung", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_meldung_erstellt_am"))
        batch_op.drop_index(batch_op.f("ix_open311_meldung_service_code"))
    op.drop_table("open311_meldung")
    op.drop_table("open311_schluessel")

"""uebergabe, uebergabe_callback, outbox delivery columns

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("fehler", sa.Text(), nullable=True))
        batch.add_column(sa.Column("idempotenz_schluessel", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("beansprucht_von", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("beansprucht_bis", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("erledigt_am", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(op.f("uq_outbox_idempotenz_schluessel"), ["idempotenz_schluessel"])
    op.create_table(
        "uebergabe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("adapter", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum("ausstehend", "zugestellt", "fehlgeschlagen", name="uebergabe_status", native_enum=False,
                    length=20),
            nullable=False,
        ),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("externe_id", sa.String(length=200), nullable=True),
        sa.Column("fehler", sa.Text(), nullable=True),
        sa.Column("versuche", sa.Integer(), nullable=False),
        sa.Column("erstellt_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zugestellt_am", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE",
                                name=op.f("fk_uebergabe_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="SET NULL",
                                name=op.f("fk_uebergabe_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uebergabe")),
    )
    op.create_index(op.f("ix_uebergabe_ticket_id"), "uebergabe", ["ticket_id"])
    op.create_index(op.f("ix_uebergabe_externe_id"), "uebergabe", ["externe_id"])
    op.create_table(
        "uebergabe_callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adapter", sa.String(length=100), nullable=False),
        sa.Column("signatur", sa.String(length=200), nullable=False),
        sa.Column("ereignis_id", sa.String(length=200), nullable=True),
        sa.Column("empfangen_am", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uebergabe_callback")),
        sa.UniqueConstraint("adapter", "signatur", name="uq_uebergabe_callback_adapter_signatur"),
    )
    op.create_index(op.f("ix_uebergabe_callback_empfangen_am"), "uebergabe_callback", ["empfangen_am"])


def downgrade() -> None:
    op.drop_index(op.f("ix_uebergabe_callback_empfangen_am"), table_name="uebergabe_callback")
    op.drop_table("uebergabe_callback")
    op.drop_index(op.f("ix_uebergabe_externe_id"), table_name="uebergabe")
    op.drop_index(op.f("ix_uebergabe_ticket_id"), table_name="uebergabe")
    op.drop_table("uebergabe")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("uq_outbox_idempotenz_schluessel"), type_="unique")
        for spalte in ("erledigt_am", "beansprucht_bis", "beansprucht_von", "idempotenz_schluessel", "fehler"):
            batch.drop_column(spalte)

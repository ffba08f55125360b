"""desk and Redaktion: leistung_version, wissensluecke

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leistung_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leistung_id", sa.Integer(), nullable=False),
        sa.Column("nummer", sa.Integer(), nullable=False),
        sa.Column("benutzer_id", sa.Integer(), nullable=True),
        sa.Column("benutzer_name", sa.String(length=200), nullable=False),
        sa.Column("zeitpunkt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aenderungen", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["benutzer_id"], ["benutzer.id"], name=op.f("fk_leistung_version_benutzer_id_benutzer"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["leistung_id"], ["leistung.id"], name=op.f("fk_leistung_version_leistung_id_leistung"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leistung_version")),
        sa.UniqueConstraint("leistung_id", "nummer", name="uq_leistung_version_nummer"),
    )
    with op.batch_alter_table("leistung_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leistung_version_leistung_id"), ["leistung_id"], unique=False)

    op.create_table(
        "wissensluecke",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("anfrage", sa.String(length=200), nullable=False),
        sa.Column("anzahl", sa.Integer(), nullable=False),
        sa.Column("erstmals_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zuletzt_am", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wissensluecke")),
        sa.UniqueConstraint("anfrage", name=op.f("uq_wissensluecke_anfrage")),
    )
    with op.batch_alter_table("wissensluecke", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wissensluecke_zuletzt_am"), ["zuletzt_am"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wissensluecke", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wissensluecke_zuletzt_am"))
    op.drop_table("wissensluecke")
    with op.batch_alter_table("leistung_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leistung_version_leistung_id"))
    op.drop_table("leistung_version")

"""wissensdatenbank: leistung, organisationseinheit, oeffnungszeiten, zustaendigkeit

Revision ID: 0001
Revises:
Create Date: 2026-11-21 04:47:12.173301
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "leistung",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leika", sa.String(length=14), nullable=True),
        sa.Column("leistungsname", sa.String(length=300), nullable=False),
        sa.Column("leistungsbezeichnung", sa.String(length=500), nullable=False),
        sa.Column("teaser", sa.Text(), nullable=False),
        sa.Column("kurztext", sa.Text(), nullable=False),
        sa.Column("volltext", sa.Text(), nullable=False),
        sa.Column("voraussetzungen", sa.Text(), nullable=False),
        sa.Column("unterlagen", sa.JSON(), nullable=False),
        sa.Column("verfahrensablauf", sa.Text(), nullable=False),
        sa.Column("formulare", sa.JSON(), nullable=False),
        sa.Column("rechtsgrundlagen", sa.JSON(), nullable=False),
        sa.Column("weiterfuehrende_informationen", sa.Text(), nullable=False),
        sa.Column("hinweise", sa.Text(), nullable=False),
        sa.Column("rechtsbehelf", sa.Text(), nullable=False),
        sa.Column("kosten_betrag", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("kosten_betrag_bis", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("kosten_text", sa.Text(), nullable=False),
        sa.Column("fristen", sa.Text(), nullable=False),
        sa.Column("bearbeitungsdauer", sa.Text(), nullable=False),
        sa.Column("onlinedienste", sa.JSON(), nullable=False),
        sa.Column("termin_moeglich", sa.Boolean(), nullable=False),
        sa.Column("termin_url", sa.String(length=1000), nullable=False),
        sa.Column("suchbegriffe", sa.JSON(), nullable=False),
        sa.Column("lebenslagen", sa.JSON(), nullable=False),
        sa.Column("sprache", sa.String(length=8), nullable=False),
        sa.Column(
            "art",
            sa.Enum("leistung", "maengelmeldung", name="leistung_art", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("entwurf", "veroeffentlicht", name="leistung_status", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("quelle_format", sa.String(length=20), nullable=False),
        sa.Column("quelle_id", sa.String(length=200), nullable=True),
        sa.Column("quelle_url", sa.String(length=1000), nullable=False),
        sa.Column("aktualisiert_am", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quelle_stand", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leistung")),
        sa.UniqueConstraint("quelle_format", "quelle_id", name="uq_leistung_quelle"),
    )
    with op.batch_alter_table("leistung", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leistung_leika"), ["leika"], unique=False)
        batch_op.create_index(batch_op.f("ix_leistung_status"), ["status"], unique=False)

    op.create_table(
        "organisationseinheit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kurzname", sa.String(length=200), nullable=False),
        sa.Column("strasse", sa.String(length=200), nullable=False),
        sa.Column("hausnummer", sa.String(length=20), nullable=False),
        sa.Column("plz", sa.String(length=10), nullable=False),
        sa.Column("ort", sa.String(length=200), nullable=False),
        sa.Column("telefon", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("web", sa.String(length=1000), nullable=False),
        sa.Column("hinweis", sa.Text(), nullable=False),
        sa.Column("aktiv", sa.Boolean(), nullable=False),
        sa.Column("quelle_format", sa.String(length=20), nullable=False),
        sa.Column("quelle_id", sa.String(length=200), nullable=True),
        sa.Column("aktualisiert_am", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisationseinheit")),
        sa.UniqueConstraint("quelle_format", "quelle_id", name="uq_organisationseinheit_quelle"),
    )
    op.create_table(
        "oeffnungs_ausnahme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisationseinheit_id", sa.Integer(), nullable=False),
        sa.Column("datum", sa.Date(), nullable=False),
        sa.Column("geschlossen", sa.Boolean(), nullable=False),
        sa.Column("von", sa.Time(), nullable=True),
        sa.Column("bis", sa.Time(), nullable=True),
        sa.Column("grund", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisationseinheit_id"],
            ["organisationseinheit.id"],
            name=op.f("fk_oeffnungs_ausnahme_organisationseinheit_id_organisationseinheit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oeffnungs_ausnahme")),
    )
    with op.batch_alter_table("oeffnungs_ausnahme", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oeffnungs_ausnahme_organisationseinheit_id"),
            ["organisationseinheit_id"],
            unique=False,
        )

    op.create_table(
        "oeffnungszeit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisationseinheit_id", sa.Integer(), nullable=False),
        sa.Column("wochentag", sa.SmallInteger(), nullable=False),
        sa.Column("von", sa.Time(), nullable=False),
        sa.Column("bis", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisationseinheit_id"],
            ["organisationseinheit.id"],
            name=op.f("fk_oeffnungszeit_organisationseinheit_id_organisationseinheit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oeffnungszeit")),
    )
    with op.batch_alter_table("oeffnungszeit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oeffnungszeit_organisationseinheit_id"), ["organisationseinheit_id"], unique=False
        )

    op.create_table(
        "zustaendigkeit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leistung_id", sa.Integer(), nullable=False),
        sa.Column("organisationseinheit_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["leistung_id"],
            ["leistung.id"],
            name=op.f("fk_zustaendigkeit_leistung_id_leistung"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisationseinheit_id"],
            ["organisationseinheit.id"],
            name=op.f("fk_zustaendigkeit_organisationseinheit_id_organisationseinheit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zustaendigkeit")),
        sa.UniqueConstraint("leistung_id", "organisationseinheit_id", "region", name="uq_zustaendigkeit"),
    )
    with op.batch_alter_table("zustaendigkeit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zustaendigkeit_leistung_id"), ["leistung_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_zustaendigkeit_organisationseinheit_id"), ["organisationseinheit_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("zustaendigkeit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zustaendigkeit_organisationseinheit_id"))
        batch_op.drop_index(batch_op.f("ix_zustaendigkeit_leistung_id"))

    op.drop_table("zustaendigkeit")
    with op.batch_alter_table("oeffnungszeit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oeffnungszeit_organisationseinheit_id"))

    op.drop_table("oeffnungszeit")
    with op.batch_alter_table("oeffnungs_ausnahme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oeffnungs_ausnahme_organisationseinheit_id"))

    op.drop_table("oeffnungs_ausnahme")
    op.drop_table("organisationseinheit")
    with op.batch_alter_table("leistung", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leistung_status"))
        batch_op.drop_index(batch_op.f("ix_leistung_leika"))

    op.drop_table("leistung")

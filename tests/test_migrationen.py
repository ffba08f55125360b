from sqlalchemy import inspect


def test_schema_is_at_head(engine):
    tabellen = set(inspect(engine).get_table_names())
    assert {"leistung", "organisationseinheit", "oeffnungszeit", "oeffnungs_ausnahme", "zustaendigkeit"} <= tabellen
    assert "alembic_version" in tabellen

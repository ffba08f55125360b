"""Imports every model module so the metadata is complete (Alembic, tests)."""

import wissensdatenbank.models  # noqa: F401

"""Imports every model module so the metadata is complete (Alembic, tests)."""

import kanaele.chat.models  # noqa: F401
import kanaele.email.models  # noqa: F401
import servicecenter.auth.models  # noqa: F401
import servicecenter.cti.models  # noqa: F401
import servicecenter.kontakte.models  # noqa: F401
import servicecenter.open311.models  # noqa: F401
import servicecenter.outbox.models  # noqa: F401
import servicecenter.redaktion.models  # noqa: F401
import servicecenter.tickets.models  # noqa: F401
import servicecenter.uebergabe.models  # noqa: F401
import wissensdatenbank.models  # noqa: F401

"""Fixtures of the receiving pipeline tests (defined in pipeline_hilfe.py): demo catalogue, search index, clock,
MailVerarbeitung."""

from tests.kanaele.email.pipeline_hilfe import katalog, uhr, verarbeitung, wdb  # noqa: F401

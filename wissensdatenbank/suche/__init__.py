"""Search of the Wissensdatenbank (German analyzer, fielded BM25, learned fusion, calibrated confidence)."""

from wissensdatenbank.suche.dokument import dokument_aus_dict
from wissensdatenbank.suche.index import SuchIndex
from wissensdatenbank.suche.typen import KEIN_TREFFER, SICHER, UNSICHER, SuchDokument, SuchTreffer

__all__ = ["KEIN_TREFFER", "SICHER", "UNSICHER", "SuchDokument", "SuchIndex", "SuchTreffer", "dokument_aus_dict"]

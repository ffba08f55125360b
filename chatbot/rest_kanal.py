"""The REST channel the servicecenter talks to (same URL as Rasa's own: /webhooks/rest/webhook).

Loaded by `rasa run --credentials credentials.yml` (cwd chatbot/). Importing it also applies the CPU savings of
beschleunigung.py (action result validator built once, event classes by table, direct call of the compiled DIET
and TED graphs); training and `rasa test` do not load it.
"""

from __future__ import annotations

import beschleunigung
from rasa.core.channels.rest import RestInput

beschleunigung.einsetzen()


class RestKanal(RestInput):
    """Rasa's REST channel under its usual name "rest"."""

    @classmethod
    def name(cls) -> str:
        return "rest"

"""Textbausteine: message templates with placeholders such as `{{ ticket.nummer }}` and `{{ leistung.name }}`.

Rendered in a Jinja2 SandboxedEnvironment over plain whitelisted dicts, never over ORM objects, so a template
cannot reach anything but the values listed in `platzhalter_fuer`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from servicecenter.tickets.zustaende import ZUSTAND_TEXT

MAX_LAENGE = 20_000



class _Umgebung(SandboxedEnvironment):
    """Sandbox that also refuses the arithmetic a template could use to blow up memory ("x" * 10**9)."""

    intercepted_binops = frozenset({"*", "**", "//", "%"})

    def call_binop(self, context, operator, left, right):
        raise SecurityError("arithmetic is not allowed in Textbausteine")


_env = _Umgebung(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
_env.globals.clear()  # no range, lipsum, cycler, …: only the whitelisted values


class TextbausteinFehler(ValueError):
    """The template cannot be rendered; the message is German and fit for the user."""


def _zeit(t: datetime | None, zeitzone: str) -> str:
    if t is None:
        return ""
    return t.astimezone(ZoneInfo(zeitzone)).strftime("%d.%m.%Y, %H:%M Uhr")


def platzhalter_fuer(ticket, leistung=None, *, zeitzone: str = "Europe/Berlin") -> dict[str, dict[str, str]]:
    """The whitelist: exactly these names are available in a template."""
    return {
        "ticket": {
            "nummer": ticket.nummer,
            "status": ZUSTAND_TEXT[ticket.zustand],
            "faellig_am": _zeit(ticket.faellig_am, zeitzone),
            "anliegen": ticket.anliegen,
        },
        "leistung": {
            "name": leistung.leistungsname if leistung is not None else "",
            "leika": (leistung.leika or "") if leistung is not None else "",
        },
    }


def rendern(vorlage: str, werte: dict[str, dict[str, str]]) -> str:
    if len(vorlage) > MAX_LAENGE:
        raise TextbausteinFehler("Der Textbaustein ist zu lang.")
    if "{%" in vorlage:  # placeholders only: no loops or other statements
        raise TextbausteinFehler("Textbausteine dürfen nur Platzhalter wie {{ ticket.nummer }} enthalten.")
    try:
        text = _env.from_string(vorlage).render(**werte)
    except TemplateError as exc:
        raise TextbausteinFehler(
            "Der Textbaustein enthält einen unbekannten oder unzulässigen Platzhalter "
            "(erlaubt sind z. B. {{ ticket.nummer }} und {{ leistung.name }})."
        ) from exc
    if len(text) > MAX_LAENGE:
        raise TextbausteinFehler("Der erzeugte Text ist zu lang.")
    return text

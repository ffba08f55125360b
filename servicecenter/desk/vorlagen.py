"""The Jinja2 environment of the desk and the Redaktion pages (CSRF helpers, German formatting)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from servicecenter.auth import csrf
from servicecenter.auth.models import ROLLEN_BEZEICHNUNG
from servicecenter.desk.service import ERGEBNIS_TEXT, KANAL_TEXT, euro
from servicecenter.tickets.zustaende import ZUSTAND_TEXT

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
csrf.jinja_einrichten(templates.env)
templates.env.filters["euro"] = euro
# Snippets come from the search already HTML-escaped, with <mark> added by the search.
templates.env.filters["snippet"] = lambda s: Markup(s)
templates.env.filters["css_klasse"] = lambda s: str(s).replace(" ", "-")
templates.env.globals.update(
    rollen_bezeichnung=ROLLEN_BEZEICHNUNG, zustand_text=ZUSTAND_TEXT, kanal_text=KANAL_TEXT,
    ergebnis_text=ERGEBNIS_TEXT,
)

__all__ = ["templates"]

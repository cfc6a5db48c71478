"""Jinja2 rendering: one environment per app, autoescaped, with the console's filters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from engine.cli.amendment_text import amendment_line

__all__ = ["TEMPLATES", "Renderer", "when"]

TEMPLATES = Path(__file__).parent / "templates"
"""The page templates."""
NAV = (
    ("portfolio", "", "Portfolio"),
    ("requests", "/requests", "Requests"),
    ("audit", "/audit", "Audit"),
    ("operations", "/operations", "Operations"),
)
"""The navigation: page key, path under the console's root, label."""


def when(at: datetime | None) -> str:
    """The CLI's time format: ISO 8601 to the second, with its offset (UTC if none)."""
    if at is None:
        return ""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def day(at: datetime | None) -> str:
    """The date part of ``at`` (``""`` for none)."""
    return "" if at is None else at.date().isoformat()


class Renderer:
    """Renders the templates into responses (HTML escaped everywhere by autoescape)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = when
        self.env.filters["day"] = day
        self.env.filters["short"] = lambda value: str(value)[:8]
        self.env.filters["amendment"] = partial(amendment_line, arrow="→")
        self.env.globals["nav"] = NAV

    def text(self, name: str, context: Mapping[str, object]) -> str:
        """The template ``name`` rendered with ``context``."""
        return self.env.get_template(name).render(**context)

    def page(
        self,
        name: str,
        context: Mapping[str, object],
        *,
        base: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """A page response; ``base`` is the console's root path (where it is mounted)."""
        body = self.text(name, {"base": base, **context})
        return HTMLResponse(body, status_code=status, headers=dict(headers or {}))

    def error(
        self,
        status: int,
        message: str,
        *,
        base: str,
        code: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The error page: the status, a stable code and the message; never a traceback."""
        context = {"status": status, "code": code, "message": message, "page": "error"}
        return self.page("error.html", context, base=base, status=status, headers=headers)

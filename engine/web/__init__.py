"""The read-only web console (the optional extra ``socieux[web]``).

``create_app(engine)`` returns a Starlette app: the portfolio, the request list, each
request's path and timeline, the audit state and operations, server-rendered with Jinja2
(htmx, vendored under ``static/``, only swaps fragments: every page works without
JavaScript). ``socieux serve`` runs it with uvicorn. See ``docs/console.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> object:
    """``create_app``, imported on first use (Starlette and Jinja2 load only then)."""
    if name == "create_app":
        from engine.web.app import create_app

        return create_app
    raise AttributeError(name)

"""``create_app(engine)``: the read-only console as a Starlette app, for ``socieux serve``
or for a host app to mount (``app.mount("/console", create_app(engine))``).

Each endpoint parses its parameters, builds its page from the public façade and renders
one template. Bad input is a 4xx page naming the problem; an unexpected failure is a plain
500 page, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.errors import EngineError, InstanceNotFound, StorageUnavailable, UnknownWorkflow
from engine.facade import Engine
from engine.logs import get_logger
from engine.web.audit import audit_page, operations_page
from engine.web.cache import HeadCache
from engine.web.instance import event_page, inputs_text, request_page
from engine.web.lists import portfolio_page, requests_page
from engine.web.params import parse_as_of, parse_version
from engine.web.render import Renderer
from engine.web.security import ConsoleGuard, valid_token

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
"""The stylesheet and the vendored htmx (with its licence)."""
NOT_FOUND = (InstanceNotFound, UnknownWorkflow)

log = get_logger("socieux.web")

Page = Callable[[Request], Response]


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _fragment(request: Request, target: str) -> bool:
    """Whether htmx asked for the ``target`` fragment only (not a history restore)."""
    h = request.headers
    return (
        bool(h.get("hx-request"))
        and h.get("hx-target") == target
        and not h.get("hx-history-restore-request")
    )


class Console:
    """The console's endpoints over one engine and one renderer."""

    def __init__(self, engine: Engine, renderer: Renderer) -> None:
        self.engine = engine
        self.renderer = renderer
        self.cache = HeadCache(engine)

    def _render(self, request: Request, name: str, **context: object) -> Response:
        return self.renderer.page(
            name, context, base=_base(request), headers={"vary": "HX-Request"}
        )

    def guarded(self, endpoint: Page) -> Page:
        """``endpoint`` answering an engine error with a 4xx page and anything else with a
        plain 500 page (inside the security layer, so every answer has its headers)."""

        def answer(request: Request) -> Response:
            try:
                return endpoint(request)
            except EngineError as exc:
                return self.engine_error(request, exc)
            except Exception as exc:  # the one place where a bug becomes a plain 500 page
                return self.server_error(request, exc)

        return answer

    def portfolio(self, request: Request) -> Response:
        """Counts, funnel and stage times, as charts."""
        return self._render(
            request, "portfolio.html", page="portfolio", p=portfolio_page(self.engine, self.cache)
        )

    def requests(self, request: Request) -> Response:
        """The filtered list; an htmx request gets only the results fragment."""
        found = requests_page(self.engine, request.query_params, self.cache)
        name = "_results.html" if _fragment(request, "results") else "requests.html"
        return self._render(request, name, page="requests", p=found)

    def request(self, request: Request) -> Response:
        """One request now, or as of a date or version."""
        rid = str(request.path_params["rid"])
        found = request_page(self.engine, rid, parse_as_of(request.query_params))
        return self._render(request, "request.html", page="requests", p=found, inputs=inputs_text)

    def event(self, request: Request) -> Response:
        """One recorded step explained."""
        rid = str(request.path_params["rid"])
        version = parse_version(str(request.path_params["version"])) or 1
        found = event_page(self.engine, rid, version)
        return self._render(request, "event.html", page="requests", p=found, inputs=inputs_text)

    def audit(self, request: Request) -> Response:
        """Verify runs, seals and refusals."""
        return self._render(request, "audit.html", page="audit", p=audit_page(self.engine))

    def operations(self, request: Request) -> Response:
        """Projections and hooks."""
        return self._render(
            request, "operations.html", page="operations", p=operations_page(self.engine)
        )

    # ------------------------------------------------------------ errors
    def engine_error(self, request: Request, exc: EngineError) -> Response:
        """An engine error (bad input, unknown id...) as a 4xx page with its message."""
        status = 404 if isinstance(exc, NOT_FOUND) else 400
        if isinstance(exc, StorageUnavailable):
            status = 503
        return self.renderer.error(status, exc.message, base=_base(request), code=exc.code)

    def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's own 404 and 405, as console pages."""
        assert isinstance(exc, HTTPException)
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        code = "not_found" if exc.status_code == 404 else "http_error"
        return self.renderer.error(
            exc.status_code, message, base=_base(request), code=code, headers=exc.headers
        )

    def server_error(self, request: Request, exc: Exception) -> Response:
        """Anything else: logged with its type, answered with a plain 500 page."""
        log.error("console_error", path=request.url.path, error=type(exc).__name__)
        message = "the console could not build this page (see the server's log)"
        return self.renderer.error(500, message, base=_base(request), code="internal")


def create_app(engine: Engine, *, token: str | None = None) -> Starlette:
    """The console over ``engine`` (which the caller keeps open, and closes).

    With ``token``, every request must present it (see :mod:`engine.web.security`);
    without one, serve it on 127.0.0.1 only (``socieux serve`` refuses any other host).
    """
    if not isinstance(engine, Engine):
        msg = "create_app needs an open engine.Engine"
        raise TypeError(msg)
    if token is not None and not valid_token(token):
        msg = "token: printable ASCII without spaces (it travels in headers and a cookie)"
        raise ValueError(msg)
    renderer = Renderer()
    console = Console(engine, renderer)
    pages: list[tuple[str, Page]] = [
        ("/", console.portfolio),
        ("/requests", console.requests),
        ("/requests/{rid}", console.request),
        ("/requests/{rid}/events/{version}", console.event),
        ("/audit", console.audit),
        ("/operations", console.operations),
    ]
    routes: list[Route | Mount] = [
        Route(path, console.guarded(endpoint), methods=["GET", "HEAD"]) for path, endpoint in pages
    ]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return Starlette(
        routes=routes,
        middleware=[Middleware(ConsoleGuard, token=token, renderer=renderer)],
        exception_handlers={HTTPException: console.http_error},
    )

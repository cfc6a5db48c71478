"""A small FastAPI app embedding the socieux engine: an example, not part of the engine.

    uvicorn examples.host_app.app:create_app --factory   # $SOCIEUX_DB, else sqlite:///socieux.db

What it shows:

* one engine per process, opened in the lifespan and shared by every request;
* the caller and the request id bound once per request (``engine.context``), so
  handlers never pass the actor around;
* optimistic concurrency: ``ETag: "<version>"`` out, ``If-Match`` in;
* every engine error mapped to an HTTP status by one handler (see ``errors.py``);
* an idempotent hook writing the host's own outbox after each approval (``outbox.py``);
* lists and figures read from the projections, paginated with ``Link`` headers;
* an OpenAPI document generated from the workflow definition (``openapi.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack, asynccontextmanager, closing
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict

from engine import Actor, AllowedReport, Engine, HistoryEntry, InstanceView
from engine.commands.compiled import CompiledWorkflow
from engine.commands.registry import WorkflowRegistry, load_entry_points
from examples.host_app.errors import error_responses, install_error_handlers
from examples.host_app.openapi import TriggerDoc, install_openapi, start_body, trigger_docs
from examples.host_app.outbox import Outbox, OutboxMessage
from projections.portfolio import Portfolio
from projections.requests import RequestRow, RequestsProjection

__all__ = ["Command", "app", "create_app"]

WORKFLOW = "technical-assistance"
NOTIFIER = "approval-notifier"
"""The hook's subscriber name: a restarted app resumes after its last delivered event."""


# ---------------------------------------------------------------- the app and its engine
def create_app(
    engine: Engine | None = None,
    *,
    url: str | None = None,
    outbox_path: str | None = None,
) -> FastAPI:
    """The app. Given an ``engine``, the caller owns (and closes) it; otherwise the app opens
    one at start-up (``url``, else ``$SOCIEUX_DB``) and closes it at shutdown. The outbox is
    a SQLite file at ``outbox_path`` (else ``$OUTBOX_PATH``), or in memory.

    The routes (one per trigger) come from the workflow definitions: the engine's, else the
    installed ones (the engine opened at start-up loads the same)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as stack:  # closes in reverse: the engine (and its hooks) first
            outbox = stack.enter_context(closing(Outbox(outbox_path or os.getenv("OUTBOX_PATH"))))
            opened = engine if engine is not None else stack.enter_context(Engine.open(url))
            opened.subscribe(outbox.queue_approval_notice, name=NOTIFIER, triggers=["approve"])
            if engine is not None:  # the caller's engine: leave it as found (and re-startable)
                stack.callback(opened.unsubscribe, NOTIFIER)
            app.state.engine = opened
            app.state.outbox = outbox
            yield

    registry = engine.registry if engine is not None else WorkflowRegistry(load_entry_points())
    workflows = [c for c in registry.all() if c.name == WORKFLOW]
    app = FastAPI(title="SOCIEUX+ requests (socieux example host)", lifespan=lifespan)
    app.middleware("http")(bind_request_context)
    install_error_handlers(app)
    app.include_router(build_router(workflows))
    docs = trigger_docs(workflows)
    bodies = {("/requests", "post"): (start_body(workflows), True)}
    bodies |= {
        (f"/requests/{{instance_id}}/{d.trigger}", "post"): (d.body, d.required) for d in docs
    }
    install_openapi(app, bodies)
    return app


# ---------------------------------------------------------------- who calls, and which request
def caller_from_headers(request: Request) -> Actor | None:
    """Who calls, from ``X-Actor-Id`` and ``X-Actor-Role``.

    A stand-in for authentication: a real app takes the user and their role from its
    session or a verified token, never from headers the client chooses.
    """
    actor_id = request.headers.get("X-Actor-Id")
    role = request.headers.get("X-Actor-Role")
    if not actor_id or not role:
        return None
    try:
        return Actor(actor_id, role)
    except ValueError:  # not an id the engine accepts (engine.InvalidArgument is a ValueError)
        return None


def request_id_from_headers(request: Request) -> str:
    """The caller's ``X-Request-Id`` (1 to 200 printable characters), else a new one."""
    given = request.headers.get("X-Request-Id", "")
    return given if 0 < len(given) <= 200 and given.isprintable() else uuid4().hex


async def bind_request_context(
    request: Request,
    call_next: Callable[[Request], Awaitable[Response]],
) -> Response:
    """Bind the caller and the request id for the whole request; echo the id back.

    Inside, ``engine.start``/``fire`` default to this actor and record the request id as
    the event's ``correlation_id``; the engine's log lines carry it too.
    """
    engine: Engine = request.app.state.engine
    request_id = request_id_from_headers(request)
    request.state.actor = caller_from_headers(request)
    with engine.context(actor=request.state.actor, correlation_id=request_id):
        response = await call_next(request)
    response.headers["X-Request-Id"] = request_id
    return response


def get_engine(request: Request) -> Engine:
    """The app's engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_outbox(request: Request) -> Outbox:
    """The app's outbox."""
    outbox: Outbox = request.app.state.outbox
    return outbox


ACTOR_ID = APIKeyHeader(
    name="X-Actor-Id",
    scheme_name="ActorId",
    description="Who calls (a stand-in for authentication), with `X-Actor-Role`",
    auto_error=False,
)
ACTOR_ROLE = APIKeyHeader(
    name="X-Actor-Role",
    scheme_name="ActorRole",
    description="The caller's role, e.g. `socieux_team`, with `X-Actor-Id`",
    auto_error=False,
)


def current_actor(
    request: Request,
    _actor_id: Annotated[str | None, Depends(ACTOR_ID)],
    _role: Annotated[str | None, Depends(ACTOR_ROLE)],
) -> Actor:
    """The caller the middleware bound; 401 without one. (The two headers are declared
    here as security schemes, for the OpenAPI document; the middleware reads them.)"""
    actor: Actor | None = request.state.actor
    if actor is None:
        raise HTTPException(
            401, "send X-Actor-Id and X-Actor-Role", headers={"WWW-Authenticate": "X-Actor"}
        )
    return actor


EngineDep = Annotated[Engine, Depends(get_engine)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
Caller = Annotated[Actor, Depends(current_actor)]
IfMatch = Annotated[str | None, Header(description='"<version>" from an ETag, or *')]
IfNoneMatch = Annotated[str | None, Header()]


# ---------------------------------------------------------------- ETags
_ENTITY_TAG = re.compile(r'"([0-9]{1,18})"')


def etag(view: InstanceView) -> str:
    """The instance's version as a strong entity tag: ``"3"``."""
    return f'"{view.version}"'


def expected_version(if_match: str | None) -> int | None:
    """``If-Match: "3"`` -> 3; no header, or ``*``, -> ``None`` (no check). Else 400."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ENTITY_TAG.fullmatch(if_match.strip())
    if match is None:
        raise HTTPException(400, 'If-Match takes one entity tag from an ETag, such as "3"')
    return int(match.group(1))


def matches_any(tag: str, if_none_match: str) -> bool:
    """Whether ``If-None-Match`` lists ``tag`` (weak comparison) or is ``*``."""
    listed = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return tag in listed or "*" in listed


# ---------------------------------------------------------------- routes
COMMAND_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 503)
ETAG = {"ETag": {"description": 'The version, `"<version>"`', "schema": {"type": "string"}}}
TOTAL = {
    "X-Total-Count": {
        "description": "Requests matching the filters",
        "schema": {"type": "integer"},
    },
    "Link": {"description": 'RFC 8288: `rel="next"`, `rel="prev"`', "schema": {"type": "string"}},
}


class Command(BaseModel):
    """The body of ``POST /requests/{id}/{trigger}`` as parsed (optional: some triggers take
    nothing). The engine validates ``data``; the OpenAPI document shows each trigger's."""

    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] | None = None
    reason: str | None = None


def build_router(workflows: list[CompiledWorkflow]) -> APIRouter:
    """The routes, with one ``POST /requests/{id}/<trigger>`` per trigger of ``workflows``."""
    router = APIRouter()
    router.add_api_route(
        "/requests",
        submit_request,
        methods=["POST"],
        status_code=201,
        response_model=InstanceView,
        dependencies=[Depends(current_actor)],
        responses={
            201: {
                "headers": ETAG
                | {"Location": {"description": "The request", "schema": {"type": "string"}}}
            },
            **COMMAND_ERRORS,
        },
    )
    for doc in trigger_docs(workflows):
        router.add_api_route(
            f"/requests/{{instance_id}}/{doc.trigger}",
            fire_route(doc),
            methods=["POST"],
            response_model=InstanceView,
            dependencies=[Depends(current_actor)],
            name=f"fire_{doc.trigger}",
            operation_id=f"fire_{doc.trigger}",
            summary=doc.summary,
            description=doc.description,
            responses={200: {"headers": ETAG}, **COMMAND_ERRORS},
        )
    # Any other trigger: the engine answers (409 transition_not_allowed lists what is).
    router.add_api_route(
        "/requests/{instance_id}/{trigger}",
        fire,
        methods=["POST"],
        response_model=InstanceView,
        dependencies=[Depends(current_actor)],
        include_in_schema=False,
    )
    router.add_api_route(
        "/requests/{instance_id}",
        read_request,
        methods=["GET"],
        response_model=InstanceView,
        name="read_request",
        responses={
            200: {"headers": ETAG},
            304: {"description": "Not modified: `If-None-Match` has its ETag", "headers": ETAG},
            **error_responses(404, 422, 503),
        },
    )
    router.add_api_route(
        "/requests/{instance_id}/history",
        read_history,
        methods=["GET"],
        responses=error_responses(404, 422, 503),
    )
    router.add_api_route(
        "/requests/{instance_id}/allowed",
        read_allowed,
        methods=["GET"],
        responses=error_responses(400, 401, 404, 422, 503),
    )
    router.add_api_route(
        "/requests",
        list_requests,
        methods=["GET"],
        responses={200: {"headers": TOTAL}, **error_responses(400, 422, 503)},
    )
    router.add_api_route(
        "/portfolio", read_portfolio, methods=["GET"], responses=error_responses(503)
    )
    router.add_api_route("/outbox", read_outbox, methods=["GET"])
    return router


def submit_request(
    data: Annotated[dict[str, Any], Body()],
    engine: EngineDep,
    request: Request,
    response: Response,
) -> InstanceView:
    """Submit a new request; the body is the request itself."""
    view = engine.start(WORKFLOW, data)  # actor and correlation id: bound by the middleware
    response.headers["Location"] = str(request.url_for("read_request", instance_id=view.id))
    response.headers["ETag"] = etag(view)
    return view


def fire(
    instance_id: UUID,
    trigger: str,
    *,
    engine: EngineDep,
    response: Response,
    if_match: IfMatch = None,
    command: Command | None = None,
) -> InstanceView:
    """Fire ``trigger``. With ``If-Match``, refused (409) if the request changed since."""
    command = command or Command()
    view = engine.fire(
        instance_id,
        trigger,
        command.data,
        reason=command.reason,
        expected_version=expected_version(if_match),
    )
    response.headers["ETag"] = etag(view)
    return view


def fire_route(doc: TriggerDoc) -> Callable[..., InstanceView]:
    """The route of ``doc.trigger``: :func:`fire` with the trigger fixed."""

    def fire_trigger(
        instance_id: UUID,
        *,
        engine: EngineDep,
        response: Response,
        if_match: IfMatch = None,
        command: Command | None = None,
    ) -> InstanceView:
        return fire(
            instance_id,
            doc.trigger,
            engine=engine,
            response=response,
            if_match=if_match,
            command=command,
        )

    fire_trigger.__name__ = f"fire_{doc.trigger}"
    return fire_trigger


def read_request(
    instance_id: UUID,
    engine: EngineDep,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> InstanceView | Response:
    """The request now (``304 Not Modified`` if ``If-None-Match`` has its ETag)."""
    view = engine.get(instance_id)
    tag = etag(view)
    if if_none_match is not None and matches_any(tag, if_none_match):
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return view


def read_history(instance_id: UUID, engine: EngineDep) -> list[HistoryEntry]:
    """Every step: who fired what, in which role, why, with which correlation id."""
    return engine.history(instance_id)


def read_allowed(instance_id: UUID, engine: EngineDep, actor: Caller) -> AllowedReport:
    """What the caller may fire now, and why everything else is refused (for the UI)."""
    return engine.allowed(instance_id, actor)


def list_requests(
    engine: EngineDep,
    request: Request,
    response: Response,
    *,
    state: str | None = None,
    country: str | None = None,
    area: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[RequestRow]:
    """Requests from the ``requests`` projection, most recently changed first.

    ``X-Total-Count`` is how many match the filters; ``Link`` has the ``next`` and ``prev``
    pages (RFC 8288), with the same filters and ``limit``."""
    filters = {"state": state, "country": country, "area": area}
    rows = list(engine.requests(**filters, limit=limit, offset=offset))
    total = engine.projection(RequestsProjection).count(**filters)
    response.headers["X-Total-Count"] = str(total)
    links = []
    if offset + limit < total:
        links.append(page_link(request, offset + limit, limit, "next"))
    if offset > 0:
        links.append(page_link(request, max(0, min(offset, total) - limit), limit, "prev"))
    if links:
        response.headers["Link"] = ", ".join(links)
    return [RequestRow.model_validate(row, from_attributes=True) for row in rows]


def page_link(request: Request, offset: int, limit: int, rel: str) -> str:
    """One ``Link`` value: this URL at ``offset`` (RFC 8288)."""
    url = request.url.remove_query_params(["limit", "offset"])
    url = url.include_query_params(limit=limit, offset=offset)
    return f'<{url}>; rel="{rel}"'


def read_portfolio(engine: EngineDep) -> Portfolio:
    """Counts, stage times and the funnel from the ``portfolio`` projection."""
    return Portfolio.model_validate(engine.portfolio(), from_attributes=True)


def read_outbox(outbox: OutboxDep) -> list[OutboxMessage]:
    """The host's outbox, as the approval hook wrote it."""
    return outbox.messages()


app = create_app()
"""For ``uvicorn examples.host_app.app:app``; the engine opens when the server starts
(``make example`` uses ``create_app --factory`` instead)."""

"""One JSON shape for every error: ``{"error": {"code": ..., "message": ..., ...details}}``.

Engine errors carry a stable ``code`` and ``to_dict()``; one handler maps the code to an
HTTP status. The host's own refusals (no caller, a malformed ``If-Match``) and FastAPI's
request validation use the same envelope, so a client parses one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from engine import EngineError

__all__ = [
    "ENGINE_STATUS",
    "ErrorBody",
    "ErrorResponse",
    "FieldError",
    "engine_error_response",
    "error_responses",
    "install_error_handlers",
]

ENGINE_STATUS: dict[str, int] = {
    "invalid_payload": 422,  # field errors in "errors"
    "guard_rejected": 422,  # a business rule; each reason in "failures"
    "permission_denied": 403,  # wrong role, or separation of duties ("rule")
    "concurrency_conflict": 409,  # a stale If-Match, or too many races
    "transition_not_allowed": 409,  # not from this state ("allowed" lists what is)
    "unknown_trigger": 409,  # no such trigger in the workflow (a kind of not allowed)
    "instance_not_found": 404,
    "unknown_workflow": 404,
    "invalid_argument": 400,
    "storage_unavailable": 503,
}
"""HTTP status per engine error code; any other code (``integrity_violation``...) is 500."""


# ---------------------------------------------------------------- the documented shape
class FieldError(BaseModel):
    """One field's problem (``invalid_payload``, ``invalid_request``); no input is echoed."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The error: a stable ``code``, a ``message``, and the code's own details."""

    model_config = ConfigDict(extra="allow")  # details: "allowed", "failures", "rule"...

    code: str
    message: str
    errors: list[FieldError] | None = None


class ErrorResponse(BaseModel):
    """Every error response's body."""

    error: ErrorBody


_WHEN = {
    400: "Bad request: the engine refused an argument (`invalid_argument`), or a malformed"
    " `If-Match` (`bad_request`)",
    401: "No caller: send `X-Actor-Id` and `X-Actor-Role` (`unauthorized`)",
    403: "Wrong role, or separation of duties (`permission_denied`)",
    404: "No such request (`instance_not_found`) or workflow (`unknown_workflow`)",
    409: "A stale `If-Match` (`concurrency_conflict`), or not from this state"
    " (`transition_not_allowed`)",
    422: "Invalid payload (`invalid_payload`), a business rule (`guard_rejected`), or a"
    " malformed HTTP request (`invalid_request`)",
    503: "Storage unavailable (`storage_unavailable`): retry",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    503: {"Retry-After": {"schema": {"type": "string"}, "required": True}},
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``statuses``, each with the error shape (for a route)."""
    return {
        status: {"model": ErrorResponse, "description": _WHEN[status]}
        | ({"headers": _HEADERS[status]} if status in _HEADERS else {})
        for status in statuses
    }


def _envelope(
    status: int,
    body: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def engine_error_response(exc: EngineError) -> JSONResponse:
    """The response for an engine error: its status and ``to_dict()``."""
    headers = {"Retry-After": "1"} if exc.code == "storage_unavailable" else None
    return _envelope(ENGINE_STATUS.get(exc.code, 500), exc.to_dict(), headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(EngineError)
    async def on_engine_error(_request: Request, exc: EngineError) -> JSONResponse:
        return engine_error_response(exc)

    @app.exception_handler(HTTPException)
    async def on_http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        # The host's own refusals and routing errors: the code is the status phrase
        # ("unauthorized", "bad_request", "not_found", "method_not_allowed").
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
        return _envelope(exc.status_code, {"code": code, "message": exc.detail}, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The HTTP request itself is malformed (a body that is not JSON, an id not a UUID).
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return _envelope(
            422, {"code": "invalid_request", "message": "malformed request", "errors": errors}
        )

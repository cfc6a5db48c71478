"""The OpenAPI document, generated from the installed workflow definition.

* Each trigger's request body is documented with its payload model's JSON Schema
  (``{"data": <payload>, "reason": ...}``, ``reason`` required where the definition
  requires one); ``POST /requests`` documents the start payload itself.
* The actor headers are one security requirement: both ``X-Actor-Id`` and ``X-Actor-Role``.

The engine stays the one validator of payloads (``invalid_payload`` with its field
errors): the routes parse only the envelope, and the schemas below document what the
engine checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Union

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pydantic.json_schema import models_json_schema

from engine.commands.compiled import MAX_REASON_LENGTH, CompiledWorkflow

__all__ = ["TriggerDoc", "install_openapi", "start_body", "trigger_docs"]


@dataclass(frozen=True)
class TriggerDoc:
    """One trigger's documented command: its body model and what the definition says."""

    trigger: str
    body: type[BaseModel]
    required: bool
    """Whether the body is required (a payload with required fields, or a required reason)."""
    summary: str
    description: str


def _has_required_fields(model: type[BaseModel]) -> bool:
    return any(f.is_required() for f in model.model_fields.values())


def _one_of(models: list[type[BaseModel]]) -> Any:
    return models[0] if len(models) == 1 else Union[tuple(models)]  # noqa: UP007 - built at runtime


def _camel(trigger: str) -> str:
    return "".join(part.capitalize() for part in trigger.split("_"))


def trigger_docs(workflows: Iterable[CompiledWorkflow]) -> list[TriggerDoc]:
    """One entry per non-start trigger of ``workflows`` (every version), in definition order,
    except those only the engine's own ``system`` actor fires (its deadlines do)."""
    by_trigger: dict[str, list[Any]] = {}
    for compiled in workflows:
        for t in compiled.definition.transitions:
            if not t.is_start and set(t.roles) != {"system"}:
                by_trigger.setdefault(t.trigger, []).append(t)
    docs: list[TriggerDoc] = []
    for trigger, transitions in by_trigger.items():
        payloads = list(dict.fromkeys(t.payload for t in transitions))
        needs_data = all(_has_required_fields(p) for p in payloads)
        needs_reason = all(t.reason_required for t in transitions)
        data_type = _one_of(payloads)
        reason: Any
        if needs_reason:
            reason = (
                Annotated[str, Field(min_length=1, max_length=MAX_REASON_LENGTH, pattern=r"\S")],
                ...,
            )
        else:
            reason = (Annotated[str, Field(max_length=MAX_REASON_LENGTH)] | None, None)
        body = create_model(
            f"{_camel(trigger)}Command",
            __config__=ConfigDict(extra="forbid"),
            __doc__=f"The body of ``POST /requests/{{id}}/{trigger}``.",
            data=(data_type, ...) if needs_data else (data_type | None, None),
            reason=reason,
        )
        sources = sorted({s for t in transitions for s in t.source})
        roles = sorted({r for t in transitions for r in t.roles})
        described = next((t.description for t in transitions if t.description), "")
        docs.append(
            TriggerDoc(
                trigger=trigger,
                body=body,
                required=needs_data or needs_reason,
                summary=f"Fire {trigger}",
                description=(f"{described}\n\n" if described else "")
                + f"From: {', '.join(sources)}. Roles: {', '.join(roles)}."
                + (" A reason is required." if needs_reason else "")
                + ' With `If-Match: "<version>"`, refused (409) if the request changed since.',
            )
        )
    return docs


def start_body(workflows: Iterable[CompiledWorkflow]) -> type[BaseModel]:
    """The documented body of ``POST /requests``: the start payload itself."""
    payloads = list(
        dict.fromkeys(t.payload for c in workflows for t in c.definition.transitions if t.is_start)
    )
    if len(payloads) == 1:
        return payloads[0]
    return RootModel[_one_of(payloads)]  # type: ignore[misc, return-value]


def install_openapi(
    app: FastAPI,
    bodies: dict[tuple[str, str], tuple[type[BaseModel], bool]],
) -> None:
    """Replace ``app.openapi``: FastAPI's document, with each ``(path, method)`` of
    ``bodies`` documenting ``(model, required)`` as its JSON body, and every operation's
    security schemes required together (FastAPI lists them as alternatives)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        models = list(dict.fromkeys(model for model, _ in bodies.values()))
        refs, defs = models_json_schema(
            [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, sub in defs.get("$defs", {}).items():
            if name in components and components[name] != sub:
                msg = f"two different schemas named {name!r} in the OpenAPI document"
                raise RuntimeError(msg)
            components[name] = sub
        for (path, method), (model, required) in bodies.items():
            operation = schema["paths"][path][method]
            operation["requestBody"] = {
                "required": required,
                "content": {"application/json": {"schema": refs[(model, "validation")]}},
            }
        for operations in schema["paths"].values():
            for operation in operations.values():
                if "security" in operation:
                    together = {k: v for req in operation["security"] for k, v in req.items()}
                    operation["security"] = [together]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The app's OpenAPI document, and a schemathesis run against it.

Schemathesis generates requests from the document (bodies from each trigger's payload
schema, valid and invalid), sends them to the app in process (ASGI, an in-memory engine)
and checks each response: no 5xx, a documented status, and a body and headers that match
the documented schema. To reach more than 404s, a case is often pointed at a request the
fixture walked to some state, and sent as a kit actor of some role.

Bounded for ``make test``: ``MAX_EXAMPLES`` cases per operation (21 operations),
no shrinking, no example database: about 5 s at the default 25, 20 s at 150.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.python import asgi

from engine import Engine
from engine.testing import actor, kit, walk_to
from engine.testing.builders import memory_engine
from examples.host_app.app import create_app

MAX_EXAMPLES = int(os.environ.get("SOCIEUX_API_EXAMPLES", "25"))
"""Cases per operation (x 21 operations: a few hundred in all); raise it for a deeper run."""

ROLES = [
    "partner_institution",
    "eu_delegation",
    "socieux_team",
    "commission",
    "expert",
    "evaluator",
]


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Engine, list[str]]]:
    """An in-memory engine with one request in each state the kit reaches."""
    with memory_engine() as engine:
        ids = [str(walk_to(engine, state).id) for state in kit(None).states]
        yield engine, ids


@pytest.fixture(scope="module")
def app(seeded: tuple[Engine, list[str]]) -> Iterator[FastAPI]:
    """The app on the seeded engine. Schemathesis's ASGI client starts its lifespan on the
    first call and keeps it running; it is stopped here (closing the outbox, releasing the
    hook) rather than at interpreter exit, after the engine has closed."""
    engine, _ = seeded
    yield create_app(engine)
    asgi.shutdown_lifespans()


def test_the_document_declares_bodies_security_and_errors() -> None:
    doc = create_app().openapi()
    approve = doc["paths"]["/requests/{instance_id}/approve"]["post"]
    body = doc["components"]["schemas"]["ApproveCommand"]
    assert approve["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApproveCommand"
    }
    assert body["properties"]["data"]["anyOf"][0] == {
        "$ref": "#/components/schemas/ApprovalPayload"
    }
    reject = doc["components"]["schemas"]["RejectCommand"]
    assert reject["required"] == ["reason"]  # the definition requires a reason
    submit = doc["paths"]["/requests"]["post"]["requestBody"]
    assert submit["content"]["application/json"]["schema"] == {  # version 1 or 2's request
        "$ref": "#/components/schemas/RootModel_Union_RequestPayload__RequestPayloadV2__"
    }
    assert approve["security"] == [{"ActorId": [], "ActorRole": []}]
    assert doc["components"]["securitySchemes"]["ActorRole"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Actor-Role",
        "description": "The caller's role, e.g. `socieux_team`, with `X-Actor-Id`",
    }
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for status in ("400", "401", "403", "404", "409", "422", "503"):
        assert approve["responses"][status]["content"]["application/json"]["schema"] == error
    assert "security" not in doc["paths"]["/requests/{instance_id}"]["get"]  # reads are open
    assert "HTTPValidationError" not in doc["components"]["schemas"]


# The document does not depend on the engine: load it from an app that opens nothing.
# (Not `schemathesis.pytest.from_fixture`: its subtests do not run on pytest 9.2.)
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.given(pick=st.integers(min_value=0, max_value=20), role=st.sampled_from([*ROLES, None]))
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_the_api_matches_its_document(
    case: Any, pick: int, role: str | None, seeded: tuple[Engine, list[str]], app: FastAPI
) -> None:
    _, ids = seeded
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    headers = {}
    if not negative:  # a negative case keeps its invalid parts; a positive one is steered
        if "instance_id" in (case.path_parameters or {}) and pick < len(ids):
            case.path_parameters["instance_id"] = ids[pick]
        if role is not None and pick % 3:  # else the generated (or no) actor headers
            who = actor(role)
            headers = {"X-Actor-Id": who.id, "X-Actor-Role": who.role}
    case.operation.schema.app = app  # the seeded app, for the checks' own probes too
    response = case.call_and_validate(
        app=app, headers=headers, excluded_checks=[positive_data_acceptance]
    )
    if os.environ.get("SOCIEUX_API_TRACE"):
        print(case.method, case.operation.path, response.status_code)

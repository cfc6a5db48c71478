"""The amendment methods answer hostile arguments with typed errors and write nothing, on a
workflow whose policy allows them (so the valid arguments get past the role checks)."""

from __future__ import annotations

import inspect

import pytest

from engine import Actor, Engine, EngineError
from tests.helpers import event_count
from tests.reliability.hostile_amendments import amendment_arguments
from tests.reliability.test_hostile_api import HOSTILE
from tests.toy_audit import audit_definition

TEAM = Actor("t-1", "team")


@pytest.mark.parametrize("method", sorted(amendment_arguments(None, TEAM)))
def test_hostile_arguments_to_an_amendment_get_typed_errors_and_write_nothing(
    method: str,
) -> None:
    with Engine.open("memory://", workflows=[audit_definition()], projections=[]) as engine:
        iid = engine.start("grant", {"title": "T", "amount": 500}, actor=Actor("p", "partner")).id
        valid = amendment_arguments(iid, TEAM)[method]
        untyped: list[str] = []
        params = [p for p in inspect.signature(getattr(Engine, method)).parameters if p != "self"]
        for name in params:
            for value in HOSTILE:
                before = event_count(engine)
                try:
                    getattr(engine, method)(**{**valid, name: value})
                except EngineError:
                    assert event_count(engine) == before, f"{method}({name}) wrote"
                except Exception as exc:
                    untyped.append(f"{method}({name}={value!r:.40}): {type(exc).__name__}")
        assert untyped == []

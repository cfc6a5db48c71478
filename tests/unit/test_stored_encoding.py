"""The engine's mapper stores exactly what eventsourcing's generic mapper stores: the same
bytes for every event of a walk (personal fields sealed, deadlines scheduled and
cancelled, the start event's extra keys), and eventsourcing's own error for a cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Mapper

from bench.spine import START, STEPS, WORKFLOW
from engine import Actor, Engine
from engine.instance.aggregate import WorkflowInstance
from engine.persistence.store import UpcastingMapper
from tests.toy_deadlines import leave_definition
from workflows.technical_assistance import definition


def _same_as_generic(engine: Engine, iid: Any) -> list[WorkflowInstance.Event]:
    app = engine._commands.app
    mapper = app.mapper
    assert isinstance(mapper, UpcastingMapper)
    events = list(app.instance_events(iid))
    for event in events:
        fast = mapper.to_stored_event(event)
        assert fast == Mapper.to_stored_event(mapper, event)
        assert mapper.to_domain_event(fast).__dict__ == event.__dict__
    return events


def test_every_stored_event_is_the_generic_mappers_bytes() -> None:
    with Engine.open("memory://", workflows=[definition()], projections=[]) as engine:
        iid = engine.start(WORKFLOW, START.payload, actor=START.actor).id
        for step in STEPS:
            engine.fire(iid, step.trigger, step.payload, actor=step.actor)
        assert len(_same_as_generic(engine, iid)) == 1 + len(STEPS)


def test_events_with_deadlines_are_the_generic_mappers_bytes() -> None:
    with Engine.open("memory://", workflows=[leave_definition()], projections=[]) as engine:
        iid = engine.start("leave", {"days": 3}, actor=Actor("ann", "requester")).id
        engine.fire(iid, "note", {"text": "h\u00e9"}, actor=Actor("ann", "requester"))
        engine.fire(iid, "review", actor=Actor("rita", "reviewer"))
        events = _same_as_generic(engine, iid)
    assert sum("deadlines" in vars(e) for e in events) == 2  # the extra keys are covered


def _event(payload: dict[str, Any]) -> WorkflowInstance.Event:
    return WorkflowInstance.Transitioned(  # type: ignore[call-arg]
        originator_id=uuid4(), originator_version=2, timestamp=datetime.now(UTC),
        trigger="t", source="a", dest="b", payload=payload, definition_hash="h", audit={},
        collect_as=None, prev_hash="p", hash="x", hash_format=2, event_version=2,
    )  # fmt: skip


def test_odd_values_encode_as_the_generic_mapper_does() -> None:
    with Engine.open("memory://", workflows=[definition()], projections=[]) as engine:
        mapper = engine._commands.app.mapper
        payload = {"f": 1.5, "big": 2**70, "nan": float("nan"), "é": "\x00\u2028\U0001f600",
                   "nested": [{"b": 1, "a": [True, None]}], "t": (1, 2)}  # fmt: skip
        event = _event(payload)
        assert mapper.to_stored_event(event) == Mapper.to_stored_event(mapper, event)


def test_a_cycle_fails_as_in_eventsourcing() -> None:
    with Engine.open("memory://", workflows=[definition()], projections=[]) as engine:
        mapper = engine._commands.app.mapper
        loop: dict[str, Any] = {}
        loop["self"] = loop
        with pytest.raises(ValueError, match="Circular reference"):
            Mapper.to_stored_event(mapper, _event(loop))
        with pytest.raises(ValueError, match="Circular reference"):
            mapper.to_stored_event(_event(loop))

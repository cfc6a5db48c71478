"""Scheduling and cancelling are part of the command's own hashed event; replay applies
them without any clock; events of workflows without deadlines keep their exact body."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Actor, Engine
from engine.instance.aggregate import WorkflowInstance, recompute_hash
from tests.toy import toy_definition
from tests.toy_deadlines import leave_definition

ANN = Actor("ann", "requester")
RITA = Actor("rita", "reviewer")
FRIDAY = datetime(2024, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = FRIDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _no_clock() -> datetime:
    raise AssertionError("replay must not read the clock")


def _bodies(engine: Engine, iid: UUID) -> list[dict[str, Any]]:
    return [dict(vars(e)) for e in engine.application.instance_events(iid)]


def test_entering_a_state_schedules_its_deadlines_in_the_start_event() -> None:
    with Engine.open("memory://", workflows=[leave_definition()], clock=Clock()) as engine:
        view = engine.start("leave", {"days": 3}, actor=ANN)
        (body,) = _bodies(engine, view.id)
    schedule = body["deadlines"]["schedule"]
    assert "cancel" not in body["deadlines"]
    assert schedule == [
        {
            "id": "1:nudge",
            "name": "nudge",
            "action": "remind",
            "due_at": "2024-01-07T09:00:00.000000+00:00",
            "role": "reviewer",
        },
        {
            "id": "1:escalate",
            "name": "escalate",
            "action": "escalate",
            "due_at": "2024-01-10T09:00:00.000000+00:00",
            "role": "manager",
            "level": 1,
        },
        {
            "id": "1:consent",
            "name": "consent",
            "action": "fire",
            "due_at": "2024-01-15T09:00:00.000000+00:00",
            "trigger": "deem_approved",
        },
    ]
    assert set(view.open_deadlines) == {"1:nudge", "1:escalate", "1:consent"}
    assert "open_deadlines" not in view.model_dump()  # views dump as they always did


def test_leaving_cancels_the_open_deadlines_and_entering_schedules_the_next() -> None:
    clock = Clock()
    with Engine.open("memory://", workflows=[leave_definition()], clock=clock) as engine:
        view = engine.start("leave", {"days": 3}, actor=ANN)
        clock.now += timedelta(hours=5)
        engine.fire(view.id, "note", {"text": "hello"}, actor=ANN)  # internal: stays
        clock.now += timedelta(days=1)
        reviewed = engine.fire(view.id, "review", actor=RITA)
        bodies = _bodies(engine, view.id)
        events = list(engine.application.instance_events(view.id))
    assert "deadlines" not in bodies[1]
    assert bodies[2]["deadlines"] == {
        "cancel": ["1:consent", "1:escalate", "1:nudge"],
        "schedule": [
            {
                "id": "3:lapse",
                "name": "lapse",
                "action": "fire",
                "due_at": "2024-01-11T14:00:00.000000+00:00",
                "trigger": "lapse",
            }
        ],
    }
    assert set(reviewed.open_deadlines) == {"3:lapse"}
    assert all(recompute_hash(e) == e.hash for e in events)  # the hash covers the deadlines


def test_a_changed_deadline_in_a_stored_event_breaks_its_hash() -> None:
    with Engine.open("memory://", workflows=[leave_definition()], clock=Clock()) as engine:
        view = engine.start("leave", {"days": 3}, actor=ANN)
        (event,) = engine.application.instance_events(view.id)
    schedule = vars(event)["deadlines"]["schedule"]
    schedule[2] = {**schedule[2], "due_at": "2030-01-01T00:00:00.000000+00:00"}
    assert recompute_hash(event) != event.hash


def test_events_without_deadlines_keep_their_exact_body() -> None:
    with Engine.open("memory://", workflows=[toy_definition()]) as engine:
        view = engine.start("toy", {"title": "t", "amount": 1}, actor=Actor("r", "requester"))
        view = engine.fire(view.id, "review", {"score": 4}, actor=Actor("v", "reviewer"))
        events = list(engine.application.instance_events(view.id))
    for event in events:
        declared = {f.name for f in fields(type(event))}  # type: ignore[arg-type]
        assert set(vars(event)) <= declared | {"originator_topic"}
        assert "deadlines" not in vars(event)
        assert "deadline" not in vars(event)


def test_replay_shows_the_same_open_deadlines_without_any_clock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    clock = Clock()
    with Engine.open(url, workflows=[leave_definition()], clock=clock) as engine:
        view = engine.start("leave", {"days": 3}, actor=ANN)
        clock.now += timedelta(days=1)
        engine.fire(view.id, "review", actor=RITA)
        first = engine.get(view.id, version=1).open_deadlines
        now = engine.get(view.id).open_deadlines
    with Engine.open(url, workflows=[leave_definition()], clock=_no_clock) as again:
        assert again.get(view.id).open_deadlines == now
        assert again.get(view.id, version=1).open_deadlines == first
        as_of = again.get(view.id, as_of=FRIDAY + timedelta(hours=1))
        assert as_of.state == "submitted"
        assert set(as_of.open_deadlines) == set(first)


def test_a_start_in_a_state_without_deadlines_says_nothing() -> None:
    defn = leave_definition()
    states = (defn.states[0].model_copy(update={"deadlines": ()}), *defn.states[1:])
    with Engine.open("memory://", workflows=[defn.model_copy(update={"states": states})]) as e:
        view = e.start("leave", {"days": 1}, actor=ANN)
        (body,) = _bodies(e, view.id)
    assert "deadlines" not in body
    assert view.open_deadlines == {}


@pytest.mark.parametrize("snapshot_fields", [True, False])
def test_an_instance_restored_without_open_deadlines_reads_none(snapshot_fields: bool) -> None:
    agg = WorkflowInstance.__new__(WorkflowInstance)
    if snapshot_fields:
        agg.open_deadlines = {"1:x": {"id": "1:x"}}
    from engine.instance.aggregate import open_deadlines

    assert dict(open_deadlines(agg)) == ({"1:x": {"id": "1:x"}} if snapshot_fields else {})

"""Explain a step, diff two times, and check that every instance still replays."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from uuid import UUID

import pytest

from engine import Engine, InstanceNotFound, InvalidArgument
from tests.conftest import EngineFactory
from tests.helpers import APPROVER, REQUESTER, REVIEWER, StepClock, submit
from tests.toy import toy_definition


@pytest.fixture
def reviewed(open_engine: EngineFactory) -> tuple[Engine, UUID]:
    engine = open_engine(clock=StepClock())
    iid = submit(engine, amount=700)
    engine.fire(iid, "note", {"text": "first"}, actor=REQUESTER)
    engine.fire(
        iid,
        "review",
        {"score": 4},
        actor=REVIEWER,
        reason="solid plan",
        correlation_id="c-9",
        causation_id="cmd-3",
    )
    engine.fire(iid, "approve", actor=APPROVER, reason="within budget")
    return engine, iid


@pytest.mark.parametrize("store_url", ["memory", "sqlite"], indirect=True)
def test_explain_names_actor_role_reason_definition_and_guard_inputs(
    reviewed: tuple[Engine, UUID],
) -> None:
    engine, iid = reviewed
    ex = engine.explain(str(iid)[:8], 3)
    assert (ex.trigger, ex.source, ex.dest) == ("review", "submitted", "reviewed")
    assert (ex.actor, ex.role, ex.reason) == ("rev-1", "reviewer", "solid plan")
    assert (ex.correlation_id, ex.causation_id) == ("c-9", "cmd-3")
    assert (ex.workflow, ex.definition_version) == ("toy", 1)
    assert ex.definition_hash == engine.registry.get("toy").hash
    assert [(g.name, g.ok, g.inputs) for g in ex.guards] == [("good_score", True, {"score": 4})]
    assert ex.hash_verified
    approve = engine.explain(iid, 4)
    assert [(g.name, g.reason, g.inputs) for g in approve.guards] == [
        ("amount_within_cap", "amount 700 <= cap 1000", {"amount": 700, "cap": 1000})
    ]


def test_explain_an_unknown_version_is_not_found(reviewed: tuple[Engine, UUID]) -> None:
    engine, iid = reviewed
    with pytest.raises(InstanceNotFound, match="no version 9"):
        engine.explain(iid, 9)


def test_diff_shows_state_data_and_the_steps_between_two_times(
    reviewed: tuple[Engine, UUID],
) -> None:
    engine, iid = reviewed
    history = engine.history(iid)
    d = engine.diff(iid, history[0].at, history[2].at)
    assert (d.from_state, d.to_state, d.from_version, d.to_version) == (
        "submitted",
        "reviewed",
        1,
        3,
    )
    assert [(c.path, c.change, c.after) for c in d.changes] == [
        ("notes", "added", [{"text": "first"}]),
        ("score", "added", 4),
    ]
    assert [s.trigger for s in d.steps] == ["note", "review"]
    before = engine.diff(iid, history[0].at - timedelta(days=1), history[0].at)
    assert (before.from_state, before.from_version, before.to_state) == (None, 0, "submitted")
    with pytest.raises(InvalidArgument):
        engine.diff(iid, history[2].at, history[0].at)


# ---------------------------------------------------------------- replay --check
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestReplay:
    @pytest.fixture
    def ids(self, open_engine: EngineFactory) -> list[UUID]:
        engine = open_engine()
        ids = [submit(engine) for _ in range(3)]
        for iid in ids:
            engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
        engine.close()
        return ids

    def test_every_instance_replays_with_the_installed_definitions(
        self, ids: list[UUID], open_engine: EngineFactory
    ) -> None:
        report = open_engine(projections=[]).replay_check()
        assert (report.ok, report.instances_checked, report.events_replayed) == (True, 3, 6)

    def test_an_unknown_definition_hash_fails_every_instance(
        self, ids: list[UUID], open_engine: EngineFactory
    ) -> None:
        engine = open_engine(workflows=[toy_definition(version=2)], projections=[])
        report = engine.replay_check()
        assert not report.ok
        assert [(f.instance_id, f.version, f.kind) for f in report.failures] == [
            (i, 1, "unknown_definition") for i in ids
        ]

    def test_an_unknown_topic_and_a_failed_upcast_are_reported_where_they_are(
        self, ids: list[UUID], open_engine: EngineFactory, store_url: str
    ) -> None:
        path = store_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE stored_events SET topic = 'socieux.instance:Renamed' "
                "WHERE originator_id = ? AND originator_version = 2",
                (ids[0].hex,),
            )
            (state,) = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id = ? "
                "AND originator_version = 2",
                (ids[1].hex,),
            ).fetchone()
            old = json.loads(state) | {"class_version": 0}  # an upcaster that does not exist
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? AND "
                "originator_version = 2",
                (json.dumps(old).encode(), ids[1].hex),
            )
        conn.close()
        report = open_engine(projections=[]).replay_check()
        assert [(f.instance_id, f.version, f.kind) for f in report.failures] == [
            (ids[0], 2, "unknown_topic"),
            (ids[1], 2, "upcast_failed"),
        ]
        assert report.instances_checked == 3

    def test_snapshots_must_agree_with_the_replay(
        self, open_engine: EngineFactory, store_url: str
    ) -> None:
        engine = open_engine(projections=[])
        iid = submit(engine)
        for n in range(54):
            engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
        assert engine.replay_check().ok  # a snapshot was taken at version 50, and agrees
        engine.close()
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            (count,) = conn.execute("SELECT count(*) FROM stored_snapshots").fetchone()
            conn.execute(
                "UPDATE stored_snapshots SET state = CAST(replace(state, '\"n7\"', "
                "'\"n8\"') AS BLOB)"
            )
        conn.close()
        assert count == 1
        report = open_engine(projections=[]).replay_check()
        assert [(f.instance_id, f.version, f.kind) for f in report.failures] == [
            (iid, 50, "snapshot_mismatch")
        ]


def test_replay_of_an_empty_store_is_ok() -> None:
    with Engine.open("memory://", workflows=[toy_definition()], projections=[]) as engine:
        assert engine.replay_check().model_dump() == {
            "ok": True,
            "instances_checked": 0,
            "events_replayed": 0,
            "failures": [],
            "definitions": [],
        }

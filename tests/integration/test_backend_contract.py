"""What every backend must do, stated once and run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from engine import (
    Actor,
    ConcurrencyConflict,
    Engine,
    GuardRejected,
    InstanceNotFound,
    InvalidPayload,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)
from engine.instance.hashing import GENESIS_HASH
from tests.conftest import EngineFactory
from tests.helpers import APPROVER, REQUESTER, REVIEWER, StepClock, event_count, submit


class BackendContract:
    """Each subclass runs these against one backend (set by ``store_url``'s param)."""

    def test_start_fire_and_get_return_the_same_state(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine)
        view = engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        assert (view.state, view.version) == ("reviewed", 2)
        got = engine.get(iid)
        assert got.state == "reviewed"
        assert got.data == {"title": "t", "amount": 10, "contact": "n/a", "score": 4}
        assert got.workflow == "toy"
        assert got.definition_version == 1

    def test_version_and_as_of_travel_back_in_time(self, open_engine: EngineFactory) -> None:
        clock = StepClock()
        engine = open_engine(clock=clock)
        iid = submit(engine)
        after_submit = clock.now
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
        engine.fire(iid, "review", {"score": 5}, actor=REVIEWER)
        assert engine.get(iid, version=1).state == "submitted"
        assert engine.get(iid, version=2).data["notes"] == [{"text": "a"}]
        assert engine.get(iid, version=3).state == "reviewed"
        as_of = engine.get(iid, as_of=after_submit + timedelta(seconds=30))
        assert (as_of.state, as_of.version) == ("submitted", 1)
        assert engine.get(iid, as_of=clock.now).version == 3
        with pytest.raises(InstanceNotFound):
            engine.get(iid, as_of=after_submit - timedelta(days=1))
        with pytest.raises(InstanceNotFound):
            engine.get(iid, version=9)

    def test_long_histories_use_snapshots_and_still_travel_in_time(
        self, open_engine: EngineFactory
    ) -> None:
        clock = StepClock()
        engine = open_engine(clock=clock)
        iid = submit(engine)
        times = {}
        for n in range(2, 131):
            engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
            times[n] = clock.now
        snapshots = list(engine.application.snapshots.get(iid))
        assert [s.originator_version for s in snapshots] == [50, 100]
        for version in (49, 50, 51, 100, 130):
            view = engine.get(iid, version=version)
            assert view.version == version
            assert len(view.data["notes"]) == version - 1
            assert engine.get(iid, as_of=times[version]) == view

    def test_history_records_actor_role_reason_and_chain(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine)
        engine.fire(iid, "reject", actor=REVIEWER, reason="out of scope", correlation_id="c-1")
        history = engine.history(iid)
        assert [(h.trigger, h.source, h.dest) for h in history] == [
            ("submit", None, "submitted"),
            ("reject", "submitted", "rejected"),
        ]
        assert (history[1].actor, history[1].role, history[1].reason) == (
            "rev-1",
            "reviewer",
            "out of scope",
        )
        assert history[1].correlation_id == "c-1"
        assert history[0].prev_hash == GENESIS_HASH
        assert history[1].prev_hash == history[0].hash

    def test_guard_results_and_inputs_are_recorded(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine, amount=300)
        engine.fire(iid, "review", {"score": 3}, actor=REVIEWER)
        engine.fire(iid, "approve", actor=APPROVER)
        guards = engine.history(iid)[-1].guards
        assert [(g.name, g.ok, g.inputs) for g in guards] == [
            ("amount_within_cap", True, {"amount": 300, "cap": 1000}),
        ]

    def test_rejected_commands_of_every_kind_write_nothing(
        self, open_engine: EngineFactory
    ) -> None:
        engine = open_engine()
        iid = submit(engine, amount=5000)
        engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        before = event_count(engine)
        refusals = [
            (
                TransitionNotAllowed,
                lambda: engine.fire(iid, "review", {"score": 4}, actor=REVIEWER),
            ),
            (UnknownTrigger, lambda: engine.fire(iid, "no_such", actor=REVIEWER)),
            (PermissionDenied, lambda: engine.fire(iid, "approve", actor=REQUESTER)),
            (
                PermissionDenied,
                lambda: engine.fire(iid, "approve", actor=Actor("rev-1", "approver")),
            ),
            (InvalidPayload, lambda: engine.fire(iid, "note", {"text": ""}, actor=REVIEWER)),
            (InvalidPayload, lambda: engine.fire(iid, "reject", actor=APPROVER)),
            (GuardRejected, lambda: engine.fire(iid, "approve", actor=APPROVER)),
            (
                ConcurrencyConflict,
                lambda: engine.fire(iid, "note", {"text": "x"}, actor=REVIEWER, expected_version=1),
            ),
            (InstanceNotFound, lambda: engine.fire(uuid4(), "note", actor=REVIEWER)),
            (UnknownWorkflow, lambda: engine.start("nope", {}, actor=REQUESTER)),
            (InvalidPayload, lambda: engine.start("toy", {"title": "t"}, actor=REQUESTER)),
            (
                PermissionDenied,
                lambda: engine.start("toy", {"title": "t", "amount": 1}, actor=REVIEWER),
            ),
        ]
        for error_type, command in refusals:
            with pytest.raises(error_type):
                command()
        assert event_count(engine) == before
        assert engine.get(iid).version == 2

    def test_expected_version_matching_is_accepted(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine)
        view = engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER, expected_version=1)
        assert view.version == 2

    def test_short_id_prefix_resolves(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine)
        assert engine.get(str(iid)[:8]).id == iid
        with pytest.raises(InstanceNotFound):
            engine.get("ffffffff-0000")


class DurableBackendContract(BackendContract):
    """What stores that outlive an engine (files, servers) must do as well."""

    def test_events_survive_close_and_reopen(self, open_engine: EngineFactory) -> None:
        first = open_engine()
        iid = submit(first)
        first.fire(iid, "note", {"text": "kept"}, actor=REQUESTER)
        hashes = [h.hash for h in first.history(iid)]
        first.close()
        second = open_engine()
        assert second.get(iid).data["notes"] == [{"text": "kept"}]
        assert [h.hash for h in second.history(iid)] == hashes
        assert second.fire(iid, "review", {"score": 4}, actor=REVIEWER).version == 3

    def test_two_engines_on_one_store_re_decide_on_stale_state(
        self, open_engine: EngineFactory
    ) -> None:
        a = open_engine()
        b = open_engine()
        iid = submit(a)
        b.get(iid)  # b caches version 1
        a.fire(iid, "note", {"text": "from a"}, actor=REQUESTER)
        # b's cached copy is stale: the store refuses it, b re-loads and re-decides.
        view = b.fire(iid, "note", {"text": "from b"}, actor=REQUESTER)
        assert view.version == 3
        assert view.data["notes"] == [{"text": "from a"}, {"text": "from b"}]
        a.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        with pytest.raises(TransitionNotAllowed):
            b.fire(iid, "review", {"score": 4}, actor=REVIEWER)


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
class TestMemory(BackendContract):
    """The in-memory backend."""


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(DurableBackendContract):
    """A real SQLite file in a temporary directory."""


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(DurableBackendContract):
    """A real PostgreSQL server, one schema per test."""


def test_open_closes_as_context_manager() -> None:
    with Engine.open("memory://", workflows=[]) as engine:
        assert engine.registry.names() == []

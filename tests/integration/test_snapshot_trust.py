"""Snapshots are derived data: checked before use, and never able to fail a command."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from engine import Engine
from engine.instance.aggregate import WorkflowInstance
from engine.instance.convert import fork
from engine.persistence.store import SNAPSHOT_INTERVAL
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, submit

BACKENDS = ["memory", "sqlite", "postgres"]


def _walk(engine: Engine, iid: UUID, version: int) -> None:
    while engine.get(iid).version < version:
        engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)


def _plant_a_foreign_snapshot(engine: Engine, iid: UUID) -> None:
    """Store a snapshot for the next version from a step that was never recorded (what a
    second writer's snapshot, or a forged row, looks like to this engine)."""
    twin = fork(engine.application.instance(iid))
    twin.step(at=twin.modified_on, body=dict(_note_body(engine, iid)))
    engine.application.snapshots.put([WorkflowInstance.Snapshot.take(twin)])  # type: ignore[union-attr]


def _note_body(engine: Engine, iid: UUID) -> dict[str, object]:
    last = engine.history(iid)[-1]
    return {
        "trigger": "note", "source": last.dest, "dest": last.dest,
        "payload": {"text": "forged"}, "definition_hash": last.definition_hash,
        "collect_as": "notes",
        "audit": {"actor_id": "intruder", "role": "requester", "reason": None,
                  "correlation_id": None, "causation_id": None, "guards": []},
    }  # fmt: skip


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_failing_snapshot_write_after_commit_does_not_fail_the_command(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine(projections=[])
    iid = submit(engine)
    _walk(engine, iid, SNAPSHOT_INTERVAL - 1)
    _plant_a_foreign_snapshot(engine, iid)  # the snapshot slot of version 50 is taken
    view = engine.fire(iid, "note", {"text": "real"}, actor=REQUESTER)  # used to raise
    assert view.version == SNAPSHOT_INTERVAL
    assert len(engine.history(iid)) == SNAPSHOT_INTERVAL  # recorded once, and only once


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_snapshot_that_disagrees_with_the_stored_event_is_not_used(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine(projections=[])
    iid = submit(engine)
    _walk(engine, iid, SNAPSHOT_INTERVAL - 1)
    _plant_a_foreign_snapshot(engine, iid)
    engine.fire(iid, "note", {"text": "real"}, actor=REQUESTER)
    _walk(engine, iid, SNAPSHOT_INTERVAL + 3)
    loaded = engine.application.instance(iid)  # from the store, as a cache miss loads it
    assert "forged" not in [n["text"] for n in loaded.data["notes"]]
    assert loaded.version == SNAPSHOT_INTERVAL + 3
    assert engine.get(iid, version=SNAPSHOT_INTERVAL).data["notes"][-1]["text"] == "real"
    at = engine.history(iid)[-1].at
    as_of = engine.get(iid, as_of=at)
    assert as_of.version == SNAPSHOT_INTERVAL + 3
    assert "forged" not in [n["text"] for n in as_of.data["notes"]]


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_as_of_any_time_equals_the_version_recorded_by_then(open_engine: EngineFactory) -> None:
    """``as_of`` starts from the snapshot it finds by bisection: at each event's time, and
    just before it, it must show exactly the version recorded by then, on either side of
    every snapshot."""
    engine = open_engine(projections=[])
    iid = submit(engine)
    _walk(engine, iid, 2 * SNAPSHOT_INTERVAL + 7)
    history = engine.history(iid)
    assert len(list(engine.application.snapshots.get(iid))) == 2  # type: ignore[union-attr]
    for entry in history:
        view = engine.get(iid, as_of=entry.at)
        assert view.version == entry.version
        assert view.data == engine.get(iid, version=entry.version).data
    for version in (2, SNAPSHOT_INTERVAL, SNAPSHOT_INTERVAL + 1, 2 * SNAPSHOT_INTERVAL + 1):
        entry = history[version - 1]
        assert history[version - 2].at < entry.at - timedelta(microseconds=1)
        view = engine.get(iid, as_of=entry.at - timedelta(microseconds=1))
        assert view.version == version - 1

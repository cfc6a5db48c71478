"""``engine.batch()``: a host's many commands recorded together, all or none, on every
backend (memory, a SQLite file, a PostgreSQL schema)."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest

from engine import (
    BatchTooLarge,
    ConcurrencyConflict,
    GuardRejected,
    InstanceNotFound,
    InvalidArgument,
    PermissionDenied,
)
from tests.conftest import BACKENDS, EngineFactory
from tests.helpers import APPROVER, REQUESTER, REVIEWER, event_count, submit

pytestmark = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)


def test_a_batch_commits_every_command_at_the_end_and_decides_on_its_own_view(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine()
    existing = submit(engine)
    before = event_count(engine)
    with engine.batch():
        new = engine.start("toy", {"title": "b", "amount": 5}, actor=REQUESTER)
        # the second command on the new instance sees the first (it is not in the store)
        reviewed = engine.fire(new.id, "review", {"score": 4}, actor=REVIEWER)
        approved = engine.fire(new.id, "approve", actor=APPROVER)
        noted = engine.fire(existing, "note", {"text": "one"}, actor=REQUESTER)
        noted = engine.fire(existing, "note", {"text": "two"}, actor=REQUESTER)
        assert (reviewed.version, approved.version, approved.state) == (2, 3, "approved")
        assert noted.version == 3
        assert event_count(engine) == before  # nothing written yet
        assert engine.get(existing).version == 1  # reads see the store
    assert event_count(engine) == before + 5
    assert engine.get(new.id).state == "approved"
    assert [h.trigger for h in engine.history(new.id)] == ["submit", "review", "approve"]
    assert engine.get(existing).data["notes"] == [{"text": "one"}, {"text": "two"}]
    assert engine.verify().ok
    # after the batch, commands record at once again, on top of the batch's events
    assert engine.fire(existing, "note", {"text": "three"}, actor=REQUESTER).version == 4


def test_an_exception_leaving_the_block_writes_nothing(open_engine: EngineFactory) -> None:
    engine = open_engine()
    existing = submit(engine)
    before = event_count(engine)
    started: list[UUID] = []

    def host() -> None:
        with engine.batch():
            started.append(engine.start("toy", {"title": "b", "amount": 5}, actor=REQUESTER).id)
            engine.fire(existing, "note", {"text": "x"}, actor=REQUESTER)
            raise RuntimeError("host failed")

    with pytest.raises(RuntimeError, match="host failed"):
        host()
    assert event_count(engine) == before
    (new_id,) = started
    with pytest.raises(InstanceNotFound):
        engine.get(new_id)
    assert engine.get(existing).version == 1
    # the engine's own cache never saw the aborted events
    assert engine.fire(existing, "note", {"text": "y"}, actor=REQUESTER).version == 2
    assert engine.verify().ok


def test_a_refused_command_aborts_the_batch_when_it_propagates(open_engine: EngineFactory) -> None:
    engine = open_engine()
    existing = submit(engine)
    before = event_count(engine)

    def host() -> None:
        with engine.batch():
            engine.fire(existing, "note", {"text": "x"}, actor=REQUESTER)
            engine.fire(existing, "review", {"score": 1}, actor=REVIEWER)  # the guard refuses

    with pytest.raises(GuardRejected):
        host()
    assert event_count(engine) == before
    assert engine.get(existing).version == 1


def test_a_refused_command_caught_inside_stages_nothing_and_the_rest_commits(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine()
    existing = submit(engine)
    before = event_count(engine)
    with engine.batch():
        engine.fire(existing, "note", {"text": "x"}, actor=REQUESTER)
        with pytest.raises(PermissionDenied):
            engine.fire(existing, "review", {"score": 4}, actor=REQUESTER)  # wrong role
        engine.fire(existing, "note", {"text": "y"}, actor=REQUESTER)
    assert event_count(engine) == before + 2
    assert [h.trigger for h in engine.history(existing)] == ["submit", "note", "note"]
    assert engine.verify().ok


def test_a_conflicting_writer_fails_the_whole_batch_and_nothing_is_written(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine()
    first, second = submit(engine), submit(engine)
    before = event_count(engine)

    def host() -> None:
        with engine.batch():
            engine.fire(first, "note", {"text": "batch"}, actor=REQUESTER)
            engine.fire(second, "note", {"text": "batch"}, actor=REQUESTER)
            # another thread of the host is not in the batch: its command records at once
            other = threading.Thread(
                target=engine.fire,
                args=(second, "note", {"text": "other"}),
                kwargs={"actor": REQUESTER},
            )
            other.start()
            other.join()

    with pytest.raises(ConcurrencyConflict) as caught:
        host()
    assert caught.value.instance_id == str(second)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert event_count(engine) == before + 1  # only the other thread's command
    assert engine.get(first).version == 1
    assert engine.get(second).data["notes"] == [{"text": "other"}]
    assert engine.verify().ok


def test_the_command_past_the_limit_is_refused_typed(open_engine: EngineFactory) -> None:
    engine = open_engine()
    existing = submit(engine)
    before = event_count(engine)

    def host() -> None:
        with engine.batch(limit=2):
            for n in range(3):
                engine.fire(existing, "note", {"text": str(n)}, actor=REQUESTER)

    with pytest.raises(BatchTooLarge) as caught:
        host()
    assert caught.value.code == "batch_too_large"
    assert isinstance(caught.value, InvalidArgument)
    assert event_count(engine) == before


@pytest.mark.parametrize("limit", [0, -1, 10_001, True, "5"])
def test_a_bad_limit_or_a_nested_batch_is_invalid(
    open_engine: EngineFactory, limit: object
) -> None:
    engine = open_engine()
    with pytest.raises(InvalidArgument), engine.batch(limit=limit):  # type: ignore[arg-type]
        pass
    with engine.batch(), pytest.raises(InvalidArgument, match="do not nest"), engine.batch():
        pass
    assert event_count(engine) == 0


def test_an_empty_batch_writes_nothing_and_a_duplicate_start_is_refused(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine()
    with engine.batch():
        pass
    assert event_count(engine) == 0
    iid = UUID(int=7)

    def host() -> None:
        with engine.batch():
            for _ in range(2):
                engine.start("toy", {"title": "a", "amount": 1}, actor=REQUESTER, instance_id=iid)

    with pytest.raises(InvalidArgument, match="already exists"):
        host()
    assert event_count(engine) == 0

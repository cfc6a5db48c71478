"""Idempotency keys: a command sent again with its ``command_id`` is recorded once."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest

from engine import Actor, CommandIdReused, InvalidArgument
from tests.conftest import BACKENDS, EngineFactory
from tests.helpers import REQUESTER, REVIEWER, event_count

SUBMISSION = {"title": "t", "amount": 10}


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_retried_start_returns_the_first_and_writes_nothing(open_engine: EngineFactory) -> None:
    engine = open_engine()
    key = uuid4()
    first = engine.start("toy", SUBMISSION, actor=REQUESTER, command_id=key)
    engine.fire(first.id, "note", {"text": "later"}, actor=REQUESTER)
    again = engine.start("toy", SUBMISSION, actor=REQUESTER, command_id=key)
    assert again.id == first.id
    assert again.version == 1  # the original result, not the instance now
    assert event_count(engine) == 2
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("key", ["cmd-42", 'clé "1" / ü\\n', str(uuid4())])
def test_a_retried_fire_returns_the_recorded_view(open_engine: EngineFactory, key: str) -> None:
    engine = open_engine()
    iid = engine.start("toy", SUBMISSION, actor=REQUESTER).id
    engine.fire(iid, "note", {"text": key}, actor=REQUESTER)  # the key's text, but no key
    first = engine.fire(iid, "review", {"score": 4}, actor=REVIEWER, command_id=key)
    again = engine.fire(iid, "review", {"score": 4}, actor=REVIEWER, command_id=key)
    assert (again.version, again.state) == (first.version, first.state) == (3, "reviewed")
    assert event_count(engine) == 3
    assert [h.trigger for h in engine.history(iid)] == ["submit", "note", "review"]


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_the_key_is_stored_and_hashed_with_its_event(open_engine: EngineFactory) -> None:
    engine = open_engine()
    iid = engine.start("toy", SUBMISSION, actor=REQUESTER).id
    engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER, command_id="k-1")
    events = list(engine.application.instance_events(iid))
    assert not hasattr(events[0], "command_id")  # an event without a key keeps its body
    assert events[1].command_id == "k-1"  # type: ignore[attr-defined]
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_the_same_key_on_another_command_is_refused(open_engine: EngineFactory) -> None:
    engine = open_engine()
    iid = engine.start("toy", SUBMISSION, actor=REQUESTER).id
    engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER, command_id="k-1")
    with pytest.raises(CommandIdReused) as refused:
        engine.fire(iid, "review", {"score": 4}, actor=REVIEWER, command_id="k-1")
    assert refused.value.code == "command_id_reused"
    started = engine.start("toy", SUBMISSION, actor=REQUESTER, command_id="s-1")
    with pytest.raises(CommandIdReused):
        engine.start("toy", SUBMISSION, actor=Actor("req-2", "requester"), command_id="s-1")
    assert engine.get(started.id).version == 1
    assert event_count(engine) == 3


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
@pytest.mark.parametrize("bad", ["", "   ", 7, b"k", "x" * 201, "a\x00b"])
def test_a_bad_key_is_refused_before_anything_is_written(
    open_engine: EngineFactory, bad: object
) -> None:
    engine = open_engine()
    with pytest.raises(InvalidArgument) as refused:
        engine.start("toy", SUBMISSION, actor=REQUESTER, command_id=bad)  # type: ignore[arg-type]
    assert refused.value.details["argument"] == "command_id"
    assert event_count(engine) == 0


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_racing_retries_record_the_command_once(open_engine: EngineFactory) -> None:
    engines = [open_engine() for _ in range(4)]
    iid = engines[0].start("toy", SUBMISSION, actor=REQUESTER).id
    barrier = threading.Barrier(len(engines))
    versions: list[int] = []

    def retry(engine: object) -> None:
        barrier.wait()
        view = engine.fire(iid, "note", {"text": "once"}, actor=REQUESTER, command_id="race")  # type: ignore[attr-defined]
        versions.append(view.version)

    threads = [threading.Thread(target=retry, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert versions == [2, 2, 2, 2]
    assert event_count(engines[0]) == 2

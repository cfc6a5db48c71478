"""``engine.batch()`` with inline projections (SQLite): the read models and their positions
are written in the batch's one transaction, or not at all."""

from __future__ import annotations

import pytest

from engine import GuardRejected
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, REVIEWER, event_count, submit


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_batch_projects_inline_in_its_one_transaction(open_engine: EngineFactory) -> None:
    engine = open_engine(projection_mode="inline")
    existing = submit(engine)
    with engine.batch():
        started = [
            engine.start("toy", {"title": f"r{n}", "amount": n}, actor=REQUESTER).id
            for n in range(5)
        ]
        engine.fire(started[0], "review", {"score": 4}, actor=REVIEWER)
        engine.fire(existing, "note", {"text": "x"}, actor=REQUESTER)
        assert len(engine.requests(limit=100)) == 1  # nothing projected yet
    rows = {r.id: r for r in engine.requests(limit=100)}
    assert set(rows) == {existing, *started}
    assert rows[started[0]].state == "reviewed"
    status = engine.projection_status()
    assert {s.position for s in status} == {engine.last_position}
    assert not any(s.behind for s in status)
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_aborted_batch_leaves_read_models_and_positions_untouched(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine(projection_mode="inline")
    existing = submit(engine)
    before = ([r.id for r in engine.requests(limit=100)], engine.projection_status())

    def host() -> None:
        with engine.batch():
            engine.start("toy", {"title": "r", "amount": 1}, actor=REQUESTER)
            engine.fire(existing, "review", {"score": 1}, actor=REVIEWER)  # refused

    with pytest.raises(GuardRejected):
        host()
    assert ([r.id for r in engine.requests(limit=100)], engine.projection_status()) == before
    assert event_count(engine) == 1

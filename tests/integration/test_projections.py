"""Projections: equal to a rebuild and to replayed aggregates; exactly once; on every backend."""

from __future__ import annotations

import random
from typing import Any

import pytest

from engine import Actor, Engine, EngineError
from projections import builtin
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, event_count
from tests.toy import toy_definition

ACTORS = [
    Actor("req-1", "requester"),
    Actor("rev-1", "reviewer"),
    Actor("rev-2", "reviewer"),
    Actor("app-1", "approver"),
]


def _random_history(engine: Engine, seed: int, commands: int = 150) -> list[Any]:
    rng = random.Random(seed)
    ids: list[Any] = []
    for _ in range(commands):
        try:
            if not ids or rng.random() < 0.2:
                amount = rng.choice([10, 500, 5000])
                ids.append(
                    engine.start("toy", {"title": "t", "amount": amount}, actor=REQUESTER).id
                )
                continue
            iid = rng.choice(ids)
            trigger = rng.choice(["note", "review", "approve", "reject"])
            data = {"note": {"text": "n"}, "review": {"score": rng.randint(1, 5)}}.get(trigger)
            engine.fire(iid, trigger, data, actor=rng.choice(ACTORS), reason="r")
        except EngineError:
            pass
    return ids


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    engine.catch_up_projections()
    out: dict[str, list[tuple[Any, ...]]] = {}
    sql = engine._parts.sql  # the read-model store, read directly to compare whole tables
    with sql.read() as cur:
        for p in engine.projections:
            for table in p.tables:
                cur.execute(f"SELECT * FROM {sql.table(table)}")
                out[table] = sorted(
                    tuple(r.values() if isinstance(r, dict) else tuple(r)) for r in cur.fetchall()
                )
    return out


@pytest.mark.parametrize("store_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_projections_equal_a_rebuild_and_replayed_aggregates(open_engine: EngineFactory) -> None:
    engine = open_engine(projections=builtin())
    ids = _random_history(engine, seed=7)
    live = _dump(engine)
    assert engine.rebuild_projections() == event_count(engine)
    assert _dump(engine) == live
    # The same figures computed straight from the aggregates:
    rows = {r.id: r for r in engine.requests(limit=10_000)}
    by_state: dict[str, int] = {}
    for iid in ids:
        view = engine.get(iid)
        assert (rows[iid].state, rows[iid].version) == (view.state, view.version)
        by_state[view.state] = by_state.get(view.state, 0) + 1
    assert engine.portfolio().by_state == by_state
    assert len(engine.audit_trail(limit=100_000)) == event_count(engine)
    trail = engine.audit_trail(instance=str(ids[0]))
    assert [(a.version, a.trigger) for a in trail] == [
        (h.version, h.trigger) for h in engine.history(ids[0])
    ]


@pytest.mark.parametrize("store_url", ["memory", "sqlite", "postgres"], indirect=True)
def test_processing_the_same_notifications_twice_changes_nothing(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine(projections=builtin())
    _random_history(engine, seed=3, commands=60)
    before = _dump(engine)
    runner = engine._projections.runner
    page = engine.application.recorder.select_notifications(None, 10_000)
    events = runner._decode(page)
    with engine._parts.sql.write() as cur:
        runner._apply(cur, events, runner._positions(cur))  # a second delivery of everything
    assert engine.catch_up_projections() == 0
    assert _dump(engine) == before


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_projects_inline_in_the_command_transaction(open_engine: EngineFactory) -> None:
    engine = open_engine(projections=builtin(), projection_mode="inline")
    assert engine.projection_mode == "inline"
    iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
    statuses = engine.projection_status()
    assert all(s.position == engine.last_position and not s.behind for s in statuses)
    assert engine.requests(state="submitted")[0].id == iid


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_writer_without_projections_is_caught_up_inline_by_the_next(
    open_engine: EngineFactory,
) -> None:
    bare = open_engine(projections=[])
    first = bare.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
    full = open_engine(projections=builtin(), projection_mode="inline")
    second = full.start("toy", {"title": "t", "amount": 2}, actor=REQUESTER).id
    third = bare.start("toy", {"title": "t", "amount": 3}, actor=REQUESTER).id
    full.fire(second, "note", {"text": "x"}, actor=REQUESTER)  # catches `third` up inline
    with full._parts.sql.read() as cur:
        cur.execute("SELECT id FROM req_requests")
        assert {r["id"] for r in cur.fetchall()} == {str(first), str(second), str(third)}


def test_filters_are_parameterised_not_string_built() -> None:
    with Engine.open("memory://", workflows=[toy_definition()], projections=builtin()) as engine:
        engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER)
        hostile = "x' OR '1'='1"
        assert engine.requests(state=hostile) == []
        assert engine.requests(country=hostile, area=hostile) == []
        assert engine.audit_trail(actor=hostile) == []
        assert len(engine.requests(state="submitted")) == 1


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_default_catch_up_lets_another_engine_read_every_write(open_engine: EngineFactory) -> None:
    writer = open_engine(projections=builtin())
    reader = open_engine(projections=builtin())
    assert writer.projection_mode == "catchup"
    iid = writer.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
    writer.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
    assert [(r.id, r.version) for r in reader.requests()] == [(iid, 2)]
    assert [(r.id, r.version) for r in writer.requests()] == [(iid, 2)]

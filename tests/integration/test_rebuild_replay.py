"""A rebuild replays the demo portfolio into the same read models as the incremental
build, and a rebuild cut short is marked, then resumed and finished by the next engine."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine
from engine.projection.runner import REPLAYS_TABLE
from projections import builtin
from workflows.technical_assistance import definitions
from workflows.technical_assistance.demo import DemoClock, run_demo

pytestmark = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


class _Cut(Exception):
    """Stands for a crash in the middle of a rebuild."""


def _open(url: str, **kw: Any) -> Engine:
    return Engine.open(url, workflows=list(definitions()), projections=builtin(), **kw)


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table (and, on SQLite, the text index) sorted, read directly."""
    sql = engine._parts.sql
    out: dict[str, list[tuple[Any, ...]]] = {}
    with sql.read() as cur:
        for p in engine.projections:
            for table in p.tables:
                cur.execute(f"SELECT * FROM {sql.table(table)}")
                out[table] = sorted(tuple(dict(r).values()) for r in cur.fetchall())
        if sql.dialect == "sqlite":
            cur.execute("SELECT rowid AS r, title, institution FROM req_text")
            out["req_text"] = sorted(tuple(dict(r).values()) for r in cur.fetchall())
    return out


def _marks(engine: Engine) -> set[str]:
    sql = engine._parts.sql
    with sql.read() as cur:
        cur.execute(f"SELECT name FROM {sql.table(REPLAYS_TABLE)}")
        return {str(r["name"]) for r in cur.fetchall()}


def _portfolio(url: str) -> Engine:
    clock = DemoClock()
    engine = _open(url, clock=clock)
    run_demo(engine, seed=5, requests=10, clock=clock)
    return engine


def test_a_rebuild_equals_the_incremental_build(store_url: str) -> None:
    with _portfolio(store_url) as engine:
        engine.catch_up_projections()
        live = _dump(engine)
        assert live["req_request_areas"]  # the demo fills the derived tables
        assert live["exp_assignments"]
        assert engine.rebuild_projections() > 0
        assert _dump(engine) == live
        assert _marks(engine) == set()


def test_a_rebuild_cut_short_is_finished_by_the_next_engine(store_url: str) -> None:
    with _portfolio(store_url) as engine:
        engine.catch_up_projections()
        live = _dump(engine)
        head = engine.last_position

        def crash(n: int) -> None:
            raise _Cut

        runner = engine._projections.runner
        with pytest.raises(_Cut):
            runner.rebuild(batch=40, progress=crash)  # stops after the first batch
        assert _marks(engine) == {p.name for p in engine.projections}
        assert any(s.position < head for s in engine.projection_status())
    with _open(store_url) as reopened:  # catches up on opening: resumes and finishes
        assert _marks(reopened) == set()
        assert _dump(reopened) == live

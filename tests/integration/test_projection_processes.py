"""Projections across processes: SIGKILL mid catch-up, and the PostgreSQL worker."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from projections import builtin
from tests.helpers import REQUESTER, event_count
from tests.integration.test_projections import _dump
from tests.toy import toy_definition

EVENTS = 6000


def _catch_up_slowly(url: str) -> None:
    with Engine.open(url, workflows=[toy_definition()], projections=builtin(),
                     projection_mode="worker") as engine:
        engine._runner.catch_up(batch=100)  # 60 transactions: plenty of moments to be killed


def _fill(url: str) -> None:
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        for _ in range(EVENTS // 6):
            iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
            for n in range(5):
                engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
        assert event_count(engine) == EVENTS


def _position(url: str) -> int:
    with Engine.open(url, workflows=[toy_definition()], projections=builtin(),
                     projection_mode="worker") as engine:
        return min(s.position for s in engine.projection_status())


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_sigkill_during_catch_up_then_resume_equals_a_rebuild(store_url: str) -> None:
    _fill(store_url)
    _position(store_url)  # create the projection tables before the race
    ctx = mp.get_context("spawn")
    kills = 0
    for attempt in range(3):
        proc = ctx.Process(target=_catch_up_slowly, args=(store_url,))
        proc.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _position(store_url) < (attempt + 1) * 1000:
            time.sleep(0.02)
        if proc.is_alive():
            os.kill(proc.pid or 0, signal.SIGKILL)
            kills += 1
        proc.join()
    reached = _position(store_url)
    print(f"\n{kills} SIGKILLs; projections were at {reached} of {EVENTS} after the last")
    assert kills >= 1
    assert reached < EVENTS, "the catch-up finished before it could be killed"
    with Engine.open(store_url, workflows=[toy_definition()], projections=builtin(),
                     projection_mode="worker") as engine:
        engine.catch_up_projections()
        resumed = _dump(engine)
        engine.rebuild_projections()
        assert _dump(engine) == resumed
        assert len(engine.audit_trail(limit=100_000)) == EVENTS


def _worker(url: str, stop_file: str) -> None:
    with Engine.open(url, workflows=[toy_definition()], projections=builtin(),
                     projection_mode="worker") as engine:
        engine.run_projections(poll=0.05, stop=lambda: Path(stop_file).exists())


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_postgres_worker_applies_commands_from_another_process(
    store_url: str, tmp_path: Any,
) -> None:
    stop_file = str(tmp_path / "stop")
    with Engine.open(store_url, workflows=[toy_definition()], projections=builtin(),
                     projection_mode="worker") as engine:
        worker = mp.get_context("spawn").Process(target=_worker, args=(store_url, stop_file))
        worker.start()
        try:
            iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
            engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
            engine.wait_for(engine.last_position, timeout=30)
            rows = engine.requests(state="submitted")
            assert [(r.id, r.version) for r in rows] == [(str(iid), 2)]
        finally:
            Path(stop_file).touch()
            worker.join(timeout=30)
    assert worker.exitcode == 0

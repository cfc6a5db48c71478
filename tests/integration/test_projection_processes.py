"""Projections across processes: SIGKILL mid catch-up, and the PostgreSQL worker."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
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


def _catch_up_slowly(url: str, started: str) -> None:
    with Engine.open(
        url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
    ) as engine:
        Path(started).touch()
        # 300 transactions: plenty of moments to be killed
        engine._projections.runner.catch_up(batch=20)


def _fill(url: str) -> None:
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        for _ in range(EVENTS // 6):
            iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
            for n in range(5):
                engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
        assert event_count(engine) == EVENTS


def _position(url: str) -> int:
    with Engine.open(
        url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
    ) as engine:
        return min(s.position for s in engine.projection_status())


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_sigkill_during_catch_up_then_resume_equals_a_rebuild(
    store_url: str,
    tmp_path: Path,
) -> None:
    _fill(store_url)
    _position(store_url)  # create the projection tables before the race
    ctx = mp.get_context("spawn")
    rng = random.Random(4)
    mid_way_kills = 0
    for attempt in range(10):
        started = tmp_path / f"started-{attempt}"
        proc = ctx.Process(target=_catch_up_slowly, args=(store_url, str(started)))
        proc.start()
        while not started.exists() and proc.is_alive():
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.is_alive():
            os.kill(proc.pid or 0, signal.SIGKILL)
        proc.join()
        reached = _position(store_url)
        if proc.exitcode == -signal.SIGKILL and reached < EVENTS:
            mid_way_kills += 1
        if mid_way_kills == 3 or reached >= EVENTS:
            break
    print(f"\n{mid_way_kills} SIGKILLs mid catch-up; projections at {reached} of {EVENTS}")
    assert mid_way_kills >= 1, "every catch-up finished before it could be killed"
    with Engine.open(
        store_url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
    ) as engine:
        engine.catch_up_projections()
        resumed = _dump(engine)
        engine.rebuild_projections()
        assert _dump(engine) == resumed
        assert len(engine.audit_trail(limit=100_000)) == EVENTS


def _worker(url: str, stop_file: str) -> None:
    with Engine.open(
        url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
    ) as engine:
        engine.run_projections(poll=0.05, stop=lambda: Path(stop_file).exists())


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_postgres_worker_applies_commands_from_another_process(
    store_url: str,
    tmp_path: Any,
) -> None:
    stop_file = str(tmp_path / "stop")
    with Engine.open(
        store_url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
    ) as engine:
        worker = mp.get_context("spawn").Process(target=_worker, args=(store_url, stop_file))
        worker.start()
        try:
            iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
            engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
            engine.wait_for(engine.last_position, timeout=30)
            rows = engine.requests(state="submitted")
            assert [(r.id, r.version) for r in rows] == [(iid, 2)]
        finally:
            Path(stop_file).touch()
            worker.join(timeout=30)
    assert worker.exitcode == 0

"""Crashes: SIGKILL a writer and a projection process at random moments, many times.

After every kill the store must verify (every hash, every chain), hold no half-written
command (gap-free versions, every event complete and decodable), hold exactly the
commands the writer logged as committed (plus at most the one in flight), and the
projections must resume from where they stopped and then equal a rebuild.

Long run: 20 kills of each kind per backend; short run: 3.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Actor, Engine
from engine.persistence.store import SNAPSHOT_INTERVAL
from tests.integration.test_projections import _dump
from tests.reliability._workers import (
    check_log,
    count_engine_logs,
    crash_projector,
    crash_writer,
    cycle_engine,
    read_writer_log,
    restarted_reader,
    start_instances,
    write_commands,
)
from tests.reliability.conftest import scale

KILLS = scale(3, 20)
INSTANCES = 10
EVENTS_PER_ROUND = 150  # appended before each projection process is started
BATCH = 2  # the projection process's batch: 75 transactions per round


def _wait_ready(proc: Any, ready: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready.exists():
        assert proc.is_alive(), f"the process died before it was ready ({proc.exitcode})"
        if time.monotonic() >= deadline:
            _kill(proc)
            pytest.fail("the process never got ready")
        time.sleep(0.005)


def _kill(proc: Any) -> bool:
    """SIGKILL ``proc`` if it still runs; True if it was killed (not finished)."""
    alive = proc.is_alive()
    if alive:
        os.kill(proc.pid or 0, signal.SIGKILL)
    proc.join(timeout=60)
    return bool(alive and proc.exitcode == -signal.SIGKILL)


def _resume_and_compare(engine: Engine, log: dict[str, Any]) -> int:
    """Projections resume from their positions, then equal a rebuild; returns how many
    events the resumed catch-up applied."""
    status = engine.projection_status()
    position = min(s.position for s in status)
    assert all(s.position <= s.head for s in status), status
    pending = sum(1 for p in log["positions"] if p > position)
    assert engine.catch_up_projections() == pending  # exactly the rest, from where it stopped
    resumed = _dump(engine)
    rows = {str(row.id): row.version for row in engine.requests(limit=10_000)}
    assert rows == log["versions"]
    assert len(engine.audit_trail(limit=10_000)) == log["events"]
    assert engine.rebuild_projections() == log["events"]
    assert _dump(engine) == resumed
    return pending


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_sigkill_writer_leaves_a_consistent_store(
    store_url: str,
    tmp_path: Path,
    figures: Any,
) -> None:
    count_engine_logs()
    # SQLite: the writer projects inline (events, read models and positions in one
    # transaction). PostgreSQL: it catches projections up itself every few commands.
    mode = "inline" if store_url.startswith("sqlite") else "catchup"
    with cycle_engine(store_url) as engine:
        ids = start_instances(engine, INSTANCES)
    ctx = mp.get_context("spawn")
    rng = random.Random(20)
    events, kills, in_flight_committed, committed = INSTANCES, 0, 0, 0
    behind_after_kill = 0
    for k in range(KILLS):
        log_file, ready = tmp_path / f"writer-{k}.log", tmp_path / f"ready-{k}"
        proc = ctx.Process(
            target=crash_writer, args=(store_url, ids, str(log_file), str(ready), mode, k, f"k{k}")
        )
        proc.start()
        _wait_ready(proc, ready)
        time.sleep(rng.uniform(0.02, 0.5))
        assert _kill(proc), "the writer stopped on its own"
        kills += 1
        intents, done = read_writer_log(log_file)
        with cycle_engine(store_url, mode="worker") as engine:  # opens without catching up
            log = check_log(engine)  # verify() clean, gap-free, every event decodable
            mine = {c: w for c, w in log["by_cmd"].items() if c.startswith(f"k{k}-")}
            for cmd, where in done.items():  # nothing the writer saw committed is lost
                assert mine.get(cmd) == where, f"{cmd} was committed but is not in the store"
            extra = set(mine) - set(done)  # at most the command in flight when killed
            assert extra <= {intents[-1][0]} if intents else not extra, extra
            assert log["events"] == events + len(done) + len(extra)
            events = log["events"]
            committed += len(done)
            in_flight_committed += len(extra)
            if mode == "inline":  # one transaction: projections can never lag the events
                assert min(s.position for s in engine.projection_status()) == max(log["positions"])
            behind_after_kill += _resume_and_compare(engine, log) > 0
            ids = list(log["versions"])
    figures.record(
        kills_survived=kills,
        events_written=events - INSTANCES,
        commands_committed=committed,
        in_flight_committed=in_flight_committed,
        projection_resumes_with_work=behind_after_kill,
        events_lost=0,
    )


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_sigkill_projection_process_resumes_exactly_once(
    store_url: str,
    tmp_path: Path,
    figures: Any,
) -> None:
    count_engine_logs()
    ctx = mp.get_context("spawn")
    rng = random.Random(21)
    kills = mid_way = finished = 0
    window: float | None = None  # how long a catch-up takes: kills land within it
    with cycle_engine(store_url, projections=False) as filler:
        ids = start_instances(filler, INSTANCES)
        for attempt in range(3 * KILLS + 1):
            if kills == KILLS:
                break
            with cycle_engine(store_url, mode="worker") as engine:
                before = min(s.position for s in engine.projection_status())
            write_commands(filler, ids, EVENTS_PER_ROUND, f"p{attempt}", rng)
            ready = tmp_path / f"ready-{attempt}"
            proc = ctx.Process(target=crash_projector, args=(store_url, str(ready), BATCH))
            proc.start()
            _wait_ready(proc, ready)
            if window is None:  # the first round is timed, not killed: it sets the window
                began = time.perf_counter()
                while proc.is_alive():
                    time.sleep(0.002)
                window = time.perf_counter() - began
            else:
                time.sleep(rng.uniform(0.0, window))
            killed = _kill(proc)
            with cycle_engine(store_url, mode="worker") as engine:
                log = check_log(engine)
                reached = min(s.position for s in engine.projection_status())
                head = max(log["positions"])
                if not killed:
                    assert proc.exitcode == 0
                    assert reached == head
                    finished += 1
                    window *= 0.8
                else:
                    kills += 1
                    if before < reached < head:
                        mid_way += 1
                _resume_and_compare(engine, log)
    assert kills == KILLS, f"only {kills} of {KILLS} projection processes could be killed"
    figures.record(
        # finished_unkilled includes the timed first round
        kills_survived=kills,
        killed_mid_catch_up=mid_way,
        finished_unkilled=finished,
        events_written=log["events"],
        events_lost=0,
    )


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_restarted_process_reads_snapshotted_instances(
    store_url: str,
    tmp_path: Path,
    figures: Any,
) -> None:
    """Regression: the snapshot topic was only registered once a process took a snapshot,
    so after a restart any instance with 50+ events failed to load (``TopicError``)."""
    count_engine_logs()
    events = SNAPSHOT_INTERVAL + 5
    with cycle_engine(store_url, projections=False) as engine:
        iid = start_instances(engine, 1)[0]
        for n in range(events - 1):
            engine.fire(
                iid, "note", {"cmd": f"s{n}"}, actor=Actor("s", "worker"), correlation_id=f"s{n}"
            )
        assert engine.application.snapshots is not None
        assert len(list(engine.application.snapshots.get(UUID(iid)))) == 1
    result = tmp_path / "result"
    proc = mp.get_context("spawn").Process(
        target=restarted_reader, args=(store_url, iid, str(result))
    )
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == 0
    assert result.read_text() == f"{events} {events + 1}"
    figures.record(events=events + 1, snapshots_read_after_restart=1)

"""Deadlines fire exactly once across processes, with workers SIGKILLed at random moments.

Two worker processes (``engine.run_due`` in a loop, short leases) and an embedded
``run_due`` loop in this process share one store (a SQLite file, or a PostgreSQL schema).
Every process's clock is frozen past every deadline; meanwhile this process moves some
instances on (their open deadlines are cancelled, racing the workers). Workers are
SIGKILLed at random moments and restarted. At the end, from the events alone: every due
deadline was recorded exactly once or cancelled (never both), no cancelled deadline
fired, every recorded deadline was scheduled and due at its time, and ``verify`` is clean.

Short run (``make test``): about 100 deadlines and 5 kills; long run
(``SOCIEUX_RELIABILITY=long``): about 500 deadlines and 20 kills.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Actor, Engine, EngineError
from tests.reliability.conftest import scale
from tests.toy_deadlines import leave_definition

DEADLINES = scale(100, 500)
KILLS = scale(5, 20)
START = datetime(2024, 1, 5, 9, tzinfo=UTC)
FROZEN = START + timedelta(days=20)
"""Past every deadline the instances' starts schedule (the last is due after 17 days)."""
LEASE = 0.5


class FileClock:
    """A frozen clock shared by processes: the time written in a file, moved by the test."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, at: datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(at.isoformat())
        tmp.replace(self.path)

    def __call__(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text())


def deadline_worker(url: str, ready: str, clock_file: str) -> None:
    """A worker process: run due deadlines forever, in small batches (until SIGKILLed)."""
    clock = FileClock(Path(clock_file))
    engine = Engine.open(url, workflows=[leave_definition()], clock=clock, projections=[])
    Path(ready).touch()
    while True:
        if engine.run_due(batch=3, limit=12, lease=LEASE).claimed == 0:
            time.sleep(0.005)


def _spawn(ctx: Any, url: str, ready: Path, clock: FileClock) -> Any:
    ready.unlink(missing_ok=True)
    proc = ctx.Process(target=deadline_worker, args=(url, str(ready), str(clock.path)), daemon=True)
    proc.start()
    give_up = time.monotonic() + 60
    while not ready.exists():
        assert proc.is_alive(), f"the worker died before it was ready ({proc.exitcode})"
        assert time.monotonic() < give_up, "the worker never got ready"
        time.sleep(0.005)
    return proc


def _kill(proc: Any) -> bool:
    alive = proc.is_alive()
    if alive:
        os.kill(proc.pid or 0, signal.SIGKILL)
    proc.join(timeout=60)
    return bool(alive and proc.exitcode == -signal.SIGKILL)


def _embedded(engine: Engine, stop: threading.Event, rng: random.Random, ids: list[str]) -> None:
    """This process's share: run due deadlines, and move some instances on (cancelling)."""
    reviewer, manager = Actor("rita", "reviewer"), Actor("mo", "manager")
    while not stop.is_set():
        engine.run_due(batch=4, limit=8, lease=LEASE)
        if rng.random() < 0.05:  # now and then, move one on (cancelling its deadlines)
            iid = rng.choice(ids)
            try:
                if rng.random() < 0.5:
                    engine.fire(iid, "review", actor=reviewer)
                else:
                    engine.fire(iid, "reject", actor=manager, reason="withdrawn")
            except EngineError:
                pass  # already moved on (by a deadline, or by this loop)
        stop.wait(0.05)


def _outcome(engine: Engine, ids: list[str]) -> dict[str, Any]:
    """From the events alone: each scheduled deadline, how often it was recorded, cancelled."""
    scheduled: dict[tuple[str, str], str] = {}
    recorded: Counter[tuple[str, str]] = Counter()
    cancelled: set[tuple[str, str]] = set()
    early = 0
    for iid in ids:
        for event in engine.application.instance_events(UUID(iid)):
            state = vars(event)
            for entry in (state.get("deadlines") or {}).get("schedule", ()):
                scheduled[(iid, entry["id"])] = entry["due_at"]
            cancelled |= {(iid, d) for d in (state.get("deadlines") or {}).get("cancel", ())}
            if state.get("deadline"):
                key = (iid, state["deadline"]["id"])
                recorded[key] += 1
                early += datetime.fromisoformat(scheduled.get(key, "9999-12-31")) > event.timestamp
    return {"scheduled": scheduled, "recorded": recorded, "cancelled": cancelled, "early": early}


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_every_due_deadline_fires_exactly_once_through_sigkills(
    store_url: str, tmp_path: Path, figures: Any
) -> None:
    clock = FileClock(tmp_path / "clock")
    clock.set(START)
    opened = Engine.open(store_url, workflows=[leave_definition()], clock=clock, projections=[])
    ids = []
    for i in range(DEADLINES // 3 + DEADLINES // 8):  # some are cancelled, the rest fire
        clock.set(START + timedelta(hours=i))  # due times spread over a week
        ids.append(str(opened.start("leave", {"days": 2}, actor=Actor(f"a{i}", "requester")).id))
    rng = random.Random(17)
    ctx = mp.get_context("spawn")
    workers = [_spawn(ctx, store_url, tmp_path / f"ready-{n}", clock) for n in range(2)]
    stop = threading.Event()
    embedded = threading.Thread(target=_embedded, args=(opened, stop, rng, ids))
    embedded.start()
    kills, busy_kills, started = 0, 0, time.monotonic()
    try:
        for step in range(1, KILLS + 1):  # move the frozen clock past more deadlines
            clock.set(
                START + timedelta(days=2) + (FROZEN - START - timedelta(days=2)) * step / KILLS
            )
            time.sleep(rng.uniform(0.0, 0.06))  # mostly while the workers fire
            n = rng.randrange(2)
            busy_kills += bool(opened.deadlines(overdue=True, limit=1))
            kills += _kill(workers[n])
            workers[n] = _spawn(ctx, store_url, tmp_path / f"ready-{n}", clock)
    finally:
        stop.set()
        embedded.join()
        for proc in workers:
            _kill(proc)
    time.sleep(LEASE * 2)  # the killed workers' leases run out
    while opened.run_due(lease=LEASE).claimed:
        pass
    elapsed = time.monotonic() - started
    out = _outcome(opened, ids)
    due = {k for k, at in out["scheduled"].items() if datetime.fromisoformat(at) <= FROZEN}
    recorded, cancelled = out["recorded"], out["cancelled"]
    assert len(due) >= DEADLINES
    assert len(recorded) >= DEADLINES
    assert [k for k, n in recorded.items() if n > 1] == []  # never twice
    assert set(recorded) <= set(out["scheduled"])  # never without its deadline
    assert out["early"] == 0  # never before it was due
    assert set(recorded) & cancelled == set()  # a cancelled deadline never fired
    assert due <= set(recorded) | cancelled  # every due deadline fired, or was cancelled
    assert opened.deadlines(overdue=True) == []
    report = opened.verify()
    assert report.ok, report.problems[:5]
    figures.record(
        backend=store_url.split(":", 1)[0],
        deadlines_due=len(due),
        fired=len(recorded),
        cancelled_before_firing=len(due & cancelled),
        sigkills=kills,
        sigkills_with_due_work=busy_kills,
        duplicates=0,
        events=report.events_checked,
        seconds=round(elapsed, 1),
    )
    opened.close()

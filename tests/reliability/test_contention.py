"""Contention: 8 processes fire at 50 shared instances; nothing lost, nothing duplicated.

Long run: 8 processes x 500 commands; short run: 8 x 40. Each worker reports every
command it saw accepted (instance, resulting version, command id), every conflict and
refusal, and its last view of each instance; the engine's own lost races are counted
from its ``write_conflict`` log events. The store must then agree with the workers
command by command, replay to every worker's last view, and its projections (caught up
by racing processes, and on SQLite half written inline) must equal a rebuild.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections import Counter
from typing import Any

import pytest

from tests.integration.test_projections import _dump
from tests.reliability._workers import (
    check_log,
    contention_worker,
    count_engine_logs,
    cycle_engine,
    start_instances,
)
from tests.reliability.conftest import scale

PROCESSES = 8
INSTANCES = 50
COMMANDS = scale(40, 500)
SEED = 8


def _modes(store_url: str) -> list[str]:
    """On SQLite half the workers project inline, half catch up; PostgreSQL catches up."""
    if store_url.startswith("sqlite"):
        return ["inline" if w % 2 else "catchup" for w in range(PROCESSES)]
    return ["catchup"] * PROCESSES


def _collect(out: Any, procs: list[Any]) -> list[dict[str, Any]]:
    """Every worker's report; fails (instead of hanging) if a worker dies without one."""
    results: list[dict[str, Any]] = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if not p.is_alive() and p.exitcode != 0]
            assert not dead, f"a worker died without reporting (exit codes {dead})"
    return results


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_contention_loses_and_duplicates_nothing(store_url: str, figures: Any) -> None:
    count_engine_logs()  # keep the parent quiet too
    with cycle_engine(store_url) as engine:
        ids = start_instances(engine, INSTANCES)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(PROCESSES + 1)
    procs = [
        ctx.Process(
            target=contention_worker, args=(store_url, ids, w, COMMANDS, SEED, mode, barrier, out)
        )
        for w, mode in enumerate(_modes(store_url))
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=120)
        began = time.perf_counter()
        results = _collect(out, procs)
        elapsed = time.perf_counter() - began
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        for p in procs:  # never leave a worker behind (it would hang the interpreter's exit)
            if p.is_alive():
                p.kill()
                p.join()

    unexpected = [u for r in results for u in r["unexpected"]]
    assert not unexpected, unexpected[:5]
    outcome: Counter[str] = Counter()
    for r in results:
        outcome.update(r["outcome"])
    accepted = [ok for r in results for ok in r["ok"]]
    assert sum(outcome.values()) == PROCESSES * COMMANDS

    with cycle_engine(store_url) as engine:
        log = check_log(engine)  # gap-free versions, intact chains, verify() clean
        # Exactly the accepted commands were written, each once, where the worker saw it.
        assert log["events"] == INSTANCES + len(accepted)
        assert log["starts"] == INSTANCES
        fired = {cmd: where for cmd, where in log["by_cmd"].items() if cmd.startswith("w")}
        assert fired == {cmd: (iid, version) for iid, version, cmd in accepted}
        # Each worker's last view of each instance is what the store replays at that version.
        for r in results:
            for iid, view in r["views"].items():
                replayed = engine.get(iid, version=view["version"]).model_dump(mode="json")
                assert replayed == view, f"worker {r['worker']}'s view of {iid}"
        # Projections caught up by racing processes (and inline on SQLite) == a rebuild.
        live = _dump(engine)
        rows = {str(row.id): row.version for row in engine.requests(limit=10_000)}
        assert rows == log["versions"]
        assert len(engine.audit_trail(limit=10_000)) == log["events"]
        assert engine.rebuild_projections() == log["events"]
        assert _dump(engine) == live

    with cycle_engine(store_url, projections=False) as fresh:  # a cold cache: pure replay
        for iid, version in log["versions"].items():
            assert fresh.get(iid).version == version

    conflicts = sum(v for k, v in outcome.items() if k.endswith(":conflict"))
    figures.record(
        processes=PROCESSES,
        instances=INSTANCES,
        commands=PROCESSES * COMMANDS,
        commands_per_s=round(PROCESSES * COMMANDS / elapsed, 1),
        accepted=len(accepted),
        conflicts=conflicts,
        conflicts_expected_version=outcome["expected:conflict"],
        conflicts_retries_exhausted=conflicts - outcome["expected:conflict"],
        retries=sum(r["retries"] for r in results),
        write_conflicts=sum(r["write_conflicts"] for r in results),
        refused=sum(v for k, v in outcome.items() if k.endswith(":refused")),
        events=log["events"],
        events_lost=0,
        events_duplicated=0,
    )

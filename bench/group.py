"""Group commit: one engine shared by 1, 2, 4 and 8 writer threads on a SQLite file at
synchronous FULL, side by side with raw sqlite3 (one transaction per step).

Per round, each system gets a fresh file and ``requests`` submitted requests (setup,
untimed); then the 7 steps are fired on each request (timed). The threads of one engine
split the requests between them (no two threads write the same instance, so there is no
conflict to retry) and start together at a barrier; the time runs until the last thread
is done. Every system records ``requests x 7`` events, each durable when its call returns.

Targets (DESIGN section 7, issue 19): 8 threads reach at least 3x one writer, and at least
raw sqlite3's one-transaction-per-step figure measured in the same round.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from bench.common import fresh_db, median, ratio, side_by_side
from bench.raw import run_sqlite3
from bench.spine import STEPS, start_requests
from engine import Engine
from projections import builtin
from workflows.technical_assistance import definition

__all__ = ["THREADS", "run"]

THREADS = (1, 2, 4, 8)
VS_ONE_WRITER = 3.0
"""8 threads / one writer, at least."""
VS_SQLITE3 = 1.0
"""8 threads / raw sqlite3 one transaction per step, at least."""

_per_txn: dict[int, list[float]] = {}


def _walk(engine: Engine, ids: list[UUID], barrier: threading.Barrier, errors: list[str]) -> None:
    barrier.wait()
    try:
        for step in STEPS:
            for iid in ids:
                engine.fire(iid, step.trigger, step.payload, actor=step.actor)
    except Exception as exc:  # reported, and the run fails below
        errors.append(f"{type(exc).__name__}: {exc}")


def _engine(requests: int, threads: int, mode: str) -> tuple[float, int]:
    with (
        fresh_db(f"group{threads}") as path,
        Engine.open(
            f"sqlite:///{path}", workflows=[definition()], projections=builtin(),
            projection_mode=mode,  # type: ignore[arg-type]
        ) as engine,
    ):  # fmt: skip
        ids = start_requests(engine, requests)
        engine.catch_up_projections()
        group = getattr(engine.application, "group", None)  # None: a tree without it
        txns, writes = (group.stats.transactions, group.stats.writes) if group else (0, 0)
        barrier = threading.Barrier(threads + 1)
        errors: list[str] = []
        workers = [
            threading.Thread(target=_walk, args=(engine, ids[n::threads], barrier, errors))
            for n in range(threads)
        ]
        for w in workers:
            w.start()
        barrier.wait()
        t0 = time.perf_counter()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - t0
        if group is not None:
            done = group.stats.transactions - txns
            _per_txn.setdefault(threads, []).append((group.stats.writes - writes) / max(done, 1))
        if errors:
            raise RuntimeError(f"{len(errors)} thread(s) failed: {errors[0]}")
        final = {engine.get(i).version for i in ids}
        if final != {1 + len(STEPS)}:
            raise RuntimeError(f"the walks ended at versions {sorted(final)}")
        return seconds, requests * len(STEPS)


def _sqlite3(requests: int) -> tuple[float, int]:
    with fresh_db("raw") as path:
        return run_sqlite3(path, requests)


def run(requests: int, rounds: int, mode: str = "catchup") -> dict[str, Any]:
    """``requests`` requests x 7 steps per system, ``rounds`` interleaved rounds."""
    _per_txn.clear()
    systems = {f"engine_{t}_threads": (lambda t=t: _engine(requests, t, mode)) for t in THREADS}
    systems["sqlite3_one_txn_per_step"] = lambda: _sqlite3(requests)
    rates = side_by_side(systems, rounds)
    top = f"engine_{max(THREADS)}_threads"
    vs_one = ratio(rates, top, "engine_1_threads")
    vs_raw = ratio(rates, top, "sqlite3_one_txn_per_step")
    ratios = {
        f"engine_{t}_vs_1": ratio(rates, f"engine_{t}_threads", "engine_1_threads")
        for t in THREADS[1:]
    }
    ratios["engine_8_vs_sqlite3"] = vs_raw
    ratios["engine_1_vs_sqlite3"] = ratio(rates, "engine_1_threads", "sqlite3_one_txn_per_step")
    out: dict[str, Any] = {
        "requests": requests,
        "steps_per_request": len(STEPS),
        "rounds": rounds,
        "projection_mode": mode,
        "synchronous": "FULL",
        "events_per_s": {name: round(median(r)) for name, r in rates.items()},
        "events_per_s_by_round": {name: [round(x) for x in r] for name, r in rates.items()},
        "ratios": ratios,
        "commands_per_transaction": {
            f"engine_{t}_threads": round(median(v), 2) for t, v in sorted(_per_txn.items())
        },
        "targets": {
            "engine_8_vs_1": f"{vs_one:.2f}x (target >= {VS_ONE_WRITER}x): "
            + ("met" if vs_one >= VS_ONE_WRITER else "not met"),
            "engine_8_vs_sqlite3": f"{vs_raw:.2f}x (target >= {VS_SQLITE3}x): "
            + ("met" if vs_raw >= VS_SQLITE3 else "not met"),
        },
    }
    for line in out["targets"].values():
        print(f"group commit: {line}", flush=True)
    return out


if __name__ == "__main__":
    import json
    import sys

    from bench.common import quiet_logs

    quiet_logs()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 160
    print(json.dumps(run(n, int(sys.argv[2]) if len(sys.argv) > 2 else 1), indent=2))

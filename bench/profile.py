"""Where the time goes: cProfile of the command path, ``-X importtime`` of the CLI start.

The command path is the ``command`` suite's ``engine_inline`` run (300 requests x 7
steps, SQLite, synchronous FULL, ``projection_mode="inline"``) under cProfile. Figures
are microseconds per step (cumulative time of a function over the number of steps).
cProfile adds a per-call overhead, so the profiled total is above the unprofiled wall
time, which is reported next to it; read the buckets as shares.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import re
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import fresh_db, side_by_side, sqlite_connect
from bench.raw import RawRequest, es_app, sqlite_env
from bench.spine import START, STEPS, fire_steps, start_requests
from engine import Engine
from projections import builtin
from workflows.technical_assistance import definition

# (label, path suffix or "" for built-ins, function name)
BUCKETS: tuple[tuple[str, str, str], ...] = (
    ("fire (total)", "engine/commands/service.py", "fire"),
    ("  load from cache (load)", "engine/commands/service.py", "load"),
    ("  decide", "engine/commands/compiled.py", "decide"),
    ("    payload validation", "engine/commands/compiled.py", "validate_payload"),
    ("    guards: machine dry run", "engine/commands/compiled.py", "run_guards"),
    ("    guard functions", "engine/commands/compiled.py", "_run_guard"),
    ("  views (view_of)", "engine/instance/convert.py", "view_of"),
    ("  aggregate step + hash", "engine/instance/aggregate.py", "step"),
    ("    event hash", "engine/instance/hashing.py", "event_hash"),
    ("  save (_save)", "engine/commands/service.py", "_save"),
    ("    encode event", "eventsourcing/persistence.py", "to_stored_event"),
    ("    insert event rows", "eventsourcing/sqlite.py", "_insert_events"),
    ("    inline projections (hook)", "engine/projection/runner.py", "hook"),
    ("      positions read", "engine/projection/runner.py", "_positions"),
    ("      requests.apply", "projections/requests.py", "apply"),
    ("      portfolio.apply", "projections/portfolio.py", "apply"),
    ("      audit_trail.apply", "projections/audit_trail.py", "apply"),
    ("      experts.apply", "projections/experts.py", "apply"),
    ("      positions advance", "engine/projection/runner.py", "_advance"),
    ("    COMMIT (fsync)", "", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("  all SQL execute/executemany", "", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("", "", "<method 'executemany' of 'sqlite3.Cursor' objects>"),
    ("  structlog bind + info", "structlog/_config.py", "bind"),
)


def _cum(stats: pstats.Stats, suffix: str, func: str) -> float:
    total = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name == func and (filename.endswith(suffix) if suffix else filename == "~"):
            total += ct
    return total


def command_path(requests: int) -> dict[str, Any]:
    """Profile 7 steps on ``requests`` requests; microseconds per step."""
    with (
        fresh_db("profile") as path,
        Engine.open(
            f"sqlite:///{path}",
            workflows=[definition()],
            projections=builtin(),
            projection_mode="inline",
        ) as engine,
    ):
        ids = start_requests(engine, requests)
        profiler = cProfile.Profile()
        profiler.enable()
        seconds, steps = fire_steps(engine, ids)
        profiler.disable()
    with (
        fresh_db("unprofiled") as path,
        Engine.open(
            f"sqlite:///{path}",
            workflows=[definition()],
            projections=builtin(),
            projection_mode="inline",
        ) as engine,
    ):
        plain_s, _ = fire_steps(engine, start_requests(engine, requests))
    stats = pstats.Stats(profiler)
    buckets: dict[str, float] = {}
    last = ""
    for label, suffix, func in BUCKETS:
        us = _cum(stats, suffix, func) / steps * 1e6
        if label:
            buckets[label.rstrip()] = round(us)
            last = label.rstrip()
        else:  # continuation of the previous bucket
            buckets[last] = round(buckets[last] + us)
    top = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:15]  # type: ignore[attr-defined]
    return {
        "steps": steps,
        "unprofiled_us_per_step": round(plain_s / steps * 1e6),
        "profiled_us_per_step": round(seconds / steps * 1e6),
        "cumulative_us_per_step": buckets,
        "top_self_time_us_per_step": {
            f"{_short(f)}:{line}({name})": round(v[2] / steps * 1e6) for (f, line, name), v in top
        },
        "step_count": len(STEPS),
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


_IMPORT = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def cli_imports(top: int = 10) -> dict[str, Any]:
    """``python -X importtime -m engine.cli --help``: the costliest top-level imports (ms)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "engine.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = _IMPORT.match(line)
        if m and len(m.group(3)) <= 1:  # top-level imports only
            rows.append((m.group(4), int(m.group(2)) / 1000))
    rows.sort(key=lambda r: -r[1])
    return {
        "total_ms": round(sum(ms for _, ms in rows)),
        "top_level_imports_ms": {name: round(ms, 1) for name, ms in rows[:top]},
    }


# ---------------------------------------------------------------------- WAL frames
def _frames(path: Path, steps: Iterator[Callable[[], None]]) -> float:
    """Mean WAL frames (pages) written per step: the WAL is emptied before each step."""
    side = sqlite3.connect(str(path), isolation_level=None)
    counts = []
    try:
        for step in steps:
            if side.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                raise RuntimeError("checkpoint blocked")
            step()
            counts.append(side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        side.close()
    return round(statistics.mean(counts), 1)


def _engine_frames(requests: int, projections: list[Any]) -> float:
    with (
        fresh_db("frames") as path,
        Engine.open(
            f"sqlite:///{path}",
            workflows=[definition()],
            projections=projections,
            projection_mode="inline",
        ) as engine,
    ):
        ids = start_requests(engine, requests)
        return _frames(
            path,
            (
                (lambda i=iid, s=step: engine.fire(i, s.trigger, s.payload, actor=s.actor))
                for step in STEPS
                for iid in ids
            ),
        )


def _es_frames(requests: int) -> float:
    with fresh_db("frames") as path, es_app(sqlite_env(path)) as app:
        ids = []
        for _ in range(requests):
            agg = RawRequest(dict(START.payload or {}), START.actor.id, START.actor.role)
            app.save(agg)
            ids.append(agg.id)

        def one(iid: Any, step: Any) -> None:
            agg = app.repository.get(iid)
            agg.step(
                step.trigger, step.dest, dict(step.payload or {}), step.actor.id, step.actor.role
            )
            app.save(agg)

        return _frames(path, ((lambda i=iid, s=step: one(i, s)) for step in STEPS for iid in ids))


def _sqlite3_frames(requests: int) -> float:
    with fresh_db("frames") as path:
        conn = sqlite_connect(path)
        conn.execute(
            "CREATE TABLE events (instance_id TEXT NOT NULL, version INTEGER NOT "
            "NULL, topic TEXT NOT NULL, state TEXT NOT NULL, "
            "PRIMARY KEY (instance_id, version))"
        )

        def one(n: int, version: int, step: Any) -> None:
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?)",
                (f"{n:032x}", version, step.trigger, json.dumps(step.payload)),
            )
            conn.execute("COMMIT")

        try:
            return _frames(
                path,
                (
                    (lambda n=n, v=v, s=step: one(n, v, s))
                    for v, step in enumerate(STEPS, start=2)
                    for n in range(requests)
                ),
            )
        finally:
            conn.close()


def wal_frames(requests: int = 20) -> dict[str, Any]:
    """Pages each system writes to the WAL per step (what the commit's fsync flushes)."""
    out: dict[str, Any] = {
        "page_size": 4096,
        "sqlite3": _sqlite3_frames(requests),
        "eventsourcing": _es_frames(requests),
        "engine_no_projections": _engine_frames(requests, []),
    }
    for p in builtin():
        out[f"engine_{p.name}_only"] = _engine_frames(requests, [p])
    out["engine_all_projections"] = _engine_frames(requests, builtin())
    return out


# ---------------------------------------------------------------------- projection costs
def _engine_run(requests: int, make: Callable[[], list[Any]]) -> tuple[float, int]:
    with (
        fresh_db("cost") as path,
        Engine.open(
            f"sqlite:///{path}",
            workflows=[definition()],
            projections=make(),
            projection_mode="inline",
        ) as engine,
    ):
        return fire_steps(engine, start_requests(engine, requests))


def projection_costs(requests: int, rounds: int) -> dict[str, Any]:
    """Unprofiled microseconds per step that each projection adds, alone, to the engine.

    Uses each system's best round (the least disturbed by other tenants of the machine).
    """
    names = [p.name for p in builtin()]

    def only(name: str) -> Callable[[], tuple[float, int]]:
        return lambda: _engine_run(requests, lambda: [p for p in builtin() if p.name == name])

    systems: dict[str, Callable[[], tuple[float, int]]] = {
        "none": lambda: _engine_run(requests, list),
        **{n: only(n) for n in names},
        "all": lambda: _engine_run(requests, builtin),
    }
    rates = side_by_side(systems, rounds)
    us = {n: 1e6 / max(r) for n, r in rates.items()}
    return {
        "rounds": rounds,
        "engine_no_projections_us_per_step": round(us["none"]),
        "added_us_per_step": {n: round(us[n] - us["none"]) for n in [*names, "all"]},
    }


def run(requests: int, rounds: int) -> dict[str, Any]:
    """The profiles, the WAL frames per step and what each projection costs."""
    return {
        "command_path": command_path(requests),
        "wal_frames_per_step": wal_frames(),
        "projection_costs": projection_costs(requests, rounds),
        "cli_start": cli_imports(),
    }

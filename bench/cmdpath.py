"""The command path against eventsourcing with its own aggregate cache (issue 19).

Per round and durability level (SQLite WAL, ``synchronous`` FULL and NORMAL), each system
gets a fresh file, 300 existing requests (setup, untimed) and then 7 steps on each
(timed; one durable transaction per step), rounds interleaved with a rotating order:

* ``engine``: ``Engine.fire`` on the technical-assistance workflow, ``projections=[]``
  (the command path alone: payload validation, guards, deadlines, personal-data sealing
  and the returned view's opening, the hash chain);
* ``engine_no_privacy``: the same engine with the privacy hooks switched off (payloads
  stored and returned in clear), to split what the personal-data hooks cost;
* ``es_cache``: a plain eventsourcing ``Application`` with ``AGGREGATE_CACHE_MAXSIZE``
  set and no fast-forward (``repository.get`` -> one ``@event`` method -> ``save``): the
  fair peer, since the engine's own cache does not re-read either;
* ``es_cache_ff``: the same with eventsourcing's default fast-forward (one read per get);
* ``es``: no cache (each get replays the aggregate from the file);
* ``sqlite3``: one ``INSERT`` of the step's JSON per transaction.

Each system reports steps per second (wall) and CPU microseconds per step
(``time.process_time`` over the timed steps). The target (DESIGN section 7): the engine
at least 1.0x ``es_cache`` at FULL (steps/s) and NORMAL (CPU per step), judged on the
median of the per-round ratios.

``callgrind``: when valgrind is installed, each of ``engine``, ``engine_no_privacy`` and
``es_cache`` runs in a child process under ``valgrind --tool=callgrind`` twice, with the
same setup (``2n`` requests) and the 7 steps fired on ``n`` or on all ``2n`` requests
(SQLite, NORMAL); the difference of the two "Collected" totals over ``7n`` is the
instructions per step, free of imports and set-up. Target: at most 835k for the engine.

``python -m bench.cmdpath [--quick]`` runs it alone; ``python -m bench --only cmdpath``.
"""

# long module: the six systems, their two durability levels, the callgrind child and its
# parent stay together so that one file says exactly what was compared with what.

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory

from bench.common import fresh_db, median, ratio
from bench.raw import RawRequest, run_sqlite3
from bench.spine import START, STEPS, WORKFLOW

TARGET_VS_ES_CACHE = 1.0
"""DESIGN section 7: the command path at least 1.0x eventsourcing with its cache."""
TARGET_INSTRUCTIONS = 835_000
"""DESIGN section 7: at most 835k instructions per step (eventsourcing with its cache)."""
LEVELS = ("FULL", "NORMAL")
SYSTEMS = ("engine", "engine_no_privacy", "es_cache", "es_cache_ff", "es", "sqlite3")
CALLGRIND_SYSTEMS = ("engine", "engine_no_privacy", "es_cache")


class _NormalPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn.cursor().execute("PRAGMA synchronous=NORMAL")
        return conn


class _FullPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn.cursor().execute("PRAGMA synchronous=FULL")
        return conn


class NormalSyncSQLiteFactory(SQLiteFactory):
    """eventsourcing's SQLite factory; its connections set ``PRAGMA synchronous=NORMAL``."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        old = self.datastore.pool
        self.datastore.pool = _NormalPool(db_name=old.db_name, lock_timeout=old.lock_timeout)
        old.close()


class FullSyncSQLiteFactory(SQLiteFactory):
    """eventsourcing's SQLite factory; its connections set ``PRAGMA synchronous=FULL``."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        old = self.datastore.pool
        self.datastore.pool = _FullPool(db_name=old.db_name, lock_timeout=old.lock_timeout)
        old.close()


def _es_env(path: Path, level: str, *, cache: bool, fastforward: bool) -> dict[str, str]:
    factory = "FullSyncSQLiteFactory" if level == "FULL" else "NormalSyncSQLiteFactory"
    env = {"PERSISTENCE_MODULE": f"bench.cmdpath:{factory}", "SQLITE_DBNAME": str(path)}
    if cache:
        env["AGGREGATE_CACHE_MAXSIZE"] = "100000"
        env["AGGREGATE_CACHE_FASTFORWARD"] = "y" if fastforward else "n"
    return env


Timing = tuple[float, float, int]
"""(wall seconds, CPU seconds, steps) of the timed steps."""


def _es_steps(app: Application[UUID], ids: list[UUID]) -> None:
    for step in STEPS:
        for iid in ids:
            agg = app.repository.get(iid)
            agg.step(
                step.trigger, step.dest, dict(step.payload or {}), step.actor.id, step.actor.role
            )
            app.save(agg)


def _es_setup(app: Application[UUID], requests: int) -> list[UUID]:
    ids = []
    for _ in range(requests):
        agg = RawRequest(dict(START.payload or {}), START.actor.id, START.actor.role)
        app.save(agg)
        ids.append(agg.id)
    return ids


def run_es(path: Path, level: str, requests: int, **cache: bool) -> Timing:
    """eventsourcing (``cache``, ``fastforward``): setup untimed, then the 7 steps."""
    app: Application[UUID] = Application(env=_es_env(path, level, **cache))
    try:
        ids = _es_setup(app, requests)
        w0, c0 = time.perf_counter(), time.process_time()
        _es_steps(app, ids)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        last = app.repository.get(ids[-1])
        if (last.state, last.version) != ("disseminated", 1 + len(STEPS)):
            raise RuntimeError(f"the walk ended at {last.state} v{last.version}")
    finally:
        app.close()
    return wall, cpu, requests * len(STEPS)


def _open_engine(path: Path, level: str, *, privacy: bool) -> Any:
    from engine import Engine, InstanceView
    from workflows.technical_assistance import definition

    engine = Engine.open(
        f"sqlite:///{path}?synchronous={level.lower()}", workflows=[definition()], projections=[]
    )
    if not privacy:  # as bench.privacy does: a benchmark's comparison, not an API
        engine._commands.protect = None
        engine._commands.present = None  # the returned view: a plain copy, nothing to open

        def clear(view: InstanceView) -> InstanceView:
            return view

        engine._privacy.reveal_view = clear
    return engine


def _engine_steps(engine: Any, ids: list[UUID]) -> None:
    for step in STEPS:
        for iid in ids:
            engine.fire(iid, step.trigger, step.payload, actor=step.actor)


def _engine_setup(engine: Any, requests: int) -> list[UUID]:
    return [engine.start(WORKFLOW, START.payload, actor=START.actor).id for _ in range(requests)]


def run_engine(path: Path, level: str, requests: int, *, privacy: bool) -> Timing:
    """The engine (``privacy`` hooks on or off): setup untimed, then the 7 steps."""
    with _open_engine(path, level, privacy=privacy) as engine:
        ids = _engine_setup(engine, requests)
        w0, c0 = time.perf_counter(), time.process_time()
        _engine_steps(engine, ids)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        last = engine.get(ids[-1])
        if (last.state, last.version) != ("disseminated", 1 + len(STEPS)):
            raise RuntimeError(f"the walk ended at {last.state} v{last.version}")
    return wall, cpu, requests * len(STEPS)


def _sqlite3(path: Path, level: str, requests: int) -> Timing:
    c0 = time.process_time()
    wall, steps = run_sqlite3(path, requests, synchronous=level)
    return wall, time.process_time() - c0, steps


def _system(name: str, level: str, requests: int) -> Callable[[], Timing]:
    def run() -> Timing:
        with fresh_db(name) as path:
            if name.startswith("engine"):
                return run_engine(path, level, requests, privacy=name == "engine")
            if name == "sqlite3":
                return _sqlite3(path, level, requests)
            flags = {"cache": name != "es", "fastforward": name == "es_cache_ff"}
            return run_es(path, level, requests, **flags)

    return run


def wall_and_cpu(requests: int, rounds: int) -> dict[str, Any]:
    """Every system at both levels, ``rounds`` interleaved rounds (rotating order)."""
    runs = [(name, level) for level in LEVELS for name in SYSTEMS]
    rates: dict[str, list[float]] = {f"{n}_{lv}": [] for n, lv in runs}
    cpu: dict[str, list[float]] = {f"{n}_{lv}": [] for n, lv in runs}
    for r in range(rounds):
        order = runs[r % len(runs) :] + runs[: r % len(runs)]
        for name, level in order:
            wall, cpu_s, steps = _system(name, level, requests)()
            rates[f"{name}_{level}"].append(steps / wall)
            cpu[f"{name}_{level}"].append(cpu_s / steps * 1e6)
    inverse = {k: [1 / x for x in v] for k, v in cpu.items()}  # steps per CPU-second
    out: dict[str, Any] = {
        "steps_per_s": {k: round(median(v)) for k, v in rates.items()},
        "cpu_us_per_step": {k: round(median(v), 1) for k, v in cpu.items()},
        "steps_per_s_by_round": {k: [round(x) for x in v] for k, v in rates.items()},
        "ratios": {},
    }
    for level in LEVELS:
        for name in ("engine", "engine_no_privacy"):
            out["ratios"][f"{name}_vs_es_cache_{level}_wall"] = ratio(
                rates, f"{name}_{level}", f"es_cache_{level}"
            )
            out["ratios"][f"{name}_vs_es_cache_{level}_cpu"] = ratio(
                inverse, f"{name}_{level}", f"es_cache_{level}"
            )
    return out


# ------------------------------------------------------------------ callgrind
def _child(system: str, setup: int, fired: int) -> None:
    """Run under callgrind: ``setup`` requests, then the 7 steps on the first ``fired``."""
    with fresh_db("cg") as path:
        if system == "es_cache":
            app: Application[UUID] = Application(
                env=_es_env(path, "NORMAL", cache=True, fastforward=False)
            )
            ids = _es_setup(app, setup)
            _es_steps(app, ids[:fired])
            app.close()
            return
        with _open_engine(path, "NORMAL", privacy=system == "engine") as engine:
            ids = _engine_setup(engine, setup)
            _engine_steps(engine, ids[:fired])


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _instructions(system: str, setup: int, fired: int) -> int:
    cmd = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "bench.cmdpath", "--child", system, str(setup), str(fired),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total in: {done.stderr[-500:]}")
    return int(found.group(1))


def callgrind(requests: int) -> dict[str, Any] | None:
    """Instructions per step by the marginal method (``None`` without valgrind, or for
    ``requests=0``)."""
    if requests <= 0 or shutil.which("valgrind") is None:
        return None
    per_step: dict[str, int] = {}
    for system in CALLGRIND_SYSTEMS:
        small = _instructions(system, 2 * requests, requests)
        large = _instructions(system, 2 * requests, 2 * requests)
        per_step[system] = round((large - small) / (requests * len(STEPS)))
    return {
        "requests": requests,
        "method": f"(I(2n setup, 2n fired) - I(2n setup, n fired)) / 7n, n={requests}",
        "instructions_per_step": per_step,
        "engine_vs_es_cache": round(per_step["engine"] / per_step["es_cache"], 3),
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def run(requests: int, rounds: int, callgrind_requests: int = 40) -> dict[str, Any]:
    """Wall and CPU side by side, then the callgrind counts (``callgrind_requests=0``:
    none); every target judged and printed with its figure."""
    figures = wall_and_cpu(requests, rounds)
    counts = callgrind(callgrind_requests)
    ra = figures["ratios"]
    targets: dict[str, Any] = {
        "engine_vs_es_cache_FULL_steps_per_s": {
            "target": f">= {TARGET_VS_ES_CACHE}",
            "measured": ra["engine_vs_es_cache_FULL_wall"],
            "verdict": _verdict(ra["engine_vs_es_cache_FULL_wall"] >= TARGET_VS_ES_CACHE),
        },
        "engine_vs_es_cache_NORMAL_cpu": {
            "target": f">= {TARGET_VS_ES_CACHE}",
            "measured": ra["engine_vs_es_cache_NORMAL_cpu"],
            "verdict": _verdict(ra["engine_vs_es_cache_NORMAL_cpu"] >= TARGET_VS_ES_CACHE),
        },
    }
    if counts is not None:
        engine_instr = counts["instructions_per_step"]["engine"]
        targets["engine_instructions_per_step"] = {
            "target": f"<= {TARGET_INSTRUCTIONS:,}",
            "measured": engine_instr,
            "peer_es_cache": counts["instructions_per_step"]["es_cache"],
            "verdict": _verdict(engine_instr <= TARGET_INSTRUCTIONS),
        }
    for name, t in targets.items():
        peer = f", es_cache {t['peer_es_cache']:,}" if "peer_es_cache" in t else ""
        print(f"cmdpath: {name}: {t['measured']:,} (target {t['target']}{peer}): {t['verdict']}")
    return {
        "requests": requests,
        "steps_per_request": len(STEPS),
        "rounds": rounds,
        **figures,
        "callgrind": counts,
        "targets": targets,
    }


def main() -> None:
    """``python -m bench.cmdpath [--quick]`` (or ``--child SYSTEM SETUP FIRED``)."""
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        _child(args[1], int(args[2]), int(args[3]))
        return
    quick = "--quick" in args
    result = run(150 if quick else 300, 1 if quick else 5, 20 if quick else 40)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

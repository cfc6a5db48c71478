"""The command path on PostgreSQL, side by side with raw eventsourcing and raw psycopg.

Each system of each round works in a fresh schema of the server at ``PG_URL``
(``SOCIEUX_BENCH_POSTGRES`` overrides it), dropped afterwards. On PostgreSQL the
engine's projections are not written in the command's transaction: the default mode,
``catchup``, applies them before the next query (``worker`` runs them in another
process). So the suite reports the command path alone, then the catch-up of the same
events, and both together.

Then the fast path (issue 19), one writer and four processes, every system in the same
run (:mod:`bench.pg_workers`): the engine with its insert function (the default) and
with ``db_functions=off``, raw eventsourcing without and with its database functions,
and raw psycopg, one ``INSERT`` per transaction. The target: at least 2,000 steps/s for
one engine writer. The server's ``synchronous_commit`` and a one-row commit's time are
printed with it: a single writer can never commit faster than the disk flushes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from bench.common import PG_URL, median, postgres_version, ratio, side_by_side
from bench.pg_workers import ASYNC_COMMIT, SYSTEMS, ensure_kek, parallel, prepare, profile, work
from bench.raw import es_app, run_es
from bench.spine import STEPS, fire_steps, start_requests
from engine import Engine
from projections import builtin
from workflows.technical_assistance import definition

_catch_up: list[float] = []
TARGET = 2000
"""Steps per second for one engine writer (docs/benchmarks.md, DESIGN section 7)."""
PROCS = 4


def _connect() -> Any:
    import psycopg

    return psycopg.connect(PG_URL, connect_timeout=5, autocommit=True)


@contextmanager
def _schema() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with _connect() as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with _connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _engine(requests: int, *, projections: bool) -> tuple[float, int]:
    with _schema() as schema:
        url = f"{PG_URL}?schema={schema}"
        chosen = builtin() if projections else []
        with Engine.open(
            url, workflows=[definition()], projections=chosen, projection_mode="catchup"
        ) as engine:
            ids = start_requests(engine, requests)
            engine.catch_up_projections()
            seconds, events = fire_steps(engine, ids)
            if projections:
                t0 = time.perf_counter()
                engine.catch_up_projections()
                _catch_up.append(time.perf_counter() - t0)
                engine.requests(limit=1)  # the read path works on what was caught up
        return seconds, events


def _es_env(schema: str) -> dict[str, str]:
    parts = urlsplit(PG_URL)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_SCHEMA": schema,
    }


def _es(requests: int) -> tuple[float, int]:
    with _schema() as schema, es_app(_es_env(schema)) as app:
        return run_es(app, requests)


def _settings() -> dict[str, str]:
    with _connect() as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])
            for name in ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay")
        }


def _one(system: str, requests: int) -> tuple[float, int]:
    with _schema() as schema:
        prepare(system, schema)
        start, end, steps = work(system, schema, requests)
        return end - start, steps


def _four(system: str, requests: int) -> tuple[float, int]:
    with _schema() as schema:
        prepare(system, schema)
        return parallel(system, schema, requests, PROCS)


def _fast_path(requests: int, rounds: int) -> dict[str, Any]:
    """One writer and four processes of every system, interleaved rounds, medians."""
    runs: dict[str, Any] = {}
    for name in SYSTEMS:
        runs[f"{name}:1"] = lambda name=name: _one(name, requests)
        runs[f"{name}:{PROCS}"] = lambda name=name: _four(name, requests)
    for name in ASYNC_COMMIT:
        runs[name] = lambda name=name: _one(name, requests)
    rates = side_by_side(runs, rounds)
    steps = {w: {n: round(median(rates[f"{n}:{w}"])) for n in SYSTEMS} for w in ("1", str(PROCS))}
    engine_one = steps["1"]["engine"]
    report = {
        "steps_per_s": {"one_writer": steps["1"], f"{PROCS}_processes": steps[str(PROCS)]},
        "ratios_one_writer": {
            f"engine_vs_{n}": ratio(rates, "engine:1", f"{n}:1") for n in SYSTEMS[1:]
        },
        f"ratios_{PROCS}_processes": {
            f"engine_vs_{n}": ratio(rates, f"engine:{PROCS}", f"{n}:{PROCS}") for n in SYSTEMS[1:]
        },
        "one_writer_synchronous_commit_off": {n: round(median(rates[n])) for n in ASYNC_COMMIT},
        "target": {
            "one_engine_writer_steps_per_s": TARGET,
            "measured": engine_one,
            "met": engine_one >= TARGET,
        },
    }
    if engine_one < TARGET:
        with _schema() as schema:
            prepare("engine", schema)
            prof = profile(schema, requests)
        report["profile_one_engine_writer"] = prof
        print(
            f"profile, 1 engine writer: {prof['server_wait_us_per_step']} us/step waiting for "
            f"the server, {prof['client_us_per_step']} us/step in the client "
            f"({prof['waiting_share']:.0%} waiting)",
            flush=True,
        )
    for w, figures in steps.items():
        peers = ", ".join(f"{n} {v}" for n, v in figures.items())
        print(f"postgres fast path, {w} writer process(es), steps/s: {peers}", flush=True)
    diag = ", ".join(f"{n} {v}" for n, v in report["one_writer_synchronous_commit_off"].items())
    print(f"diagnostics, 1 writer, synchronous_commit=off, steps/s: {diag}", flush=True)
    verdict = "met" if engine_one >= TARGET else "not met"
    print(
        f"target: one engine writer >= {TARGET} steps/s: {engine_one} ({verdict}; "
        f"raw psycopg, one INSERT per transaction, {steps['1']['raw_psycopg']} in this run)",
        flush=True,
    )
    return report


def run(requests: int, rounds: int) -> dict[str, Any]:
    """``requests`` x 7 steps per system on PostgreSQL, ``rounds`` rounds."""
    version = postgres_version(PG_URL)
    if version is None:
        return {"skipped": f"PostgreSQL does not answer at {PG_URL}"}
    ensure_kek()
    _catch_up.clear()
    rates = side_by_side(
        {
            "engine": lambda: _engine(requests, projections=True),
            "engine_no_projections": lambda: _engine(requests, projections=False),
            "eventsourcing": lambda: _es(requests),
        },
        rounds,
    )
    events = requests * len(STEPS)
    catch_up_s = median(_catch_up)
    engine_s = events / median(rates["engine"])
    both = events / (engine_s + catch_up_s)
    return {
        "server": version,
        "settings": _settings(),
        "requests": requests,
        "steps_per_request": len(STEPS),
        "rounds": rounds,
        "projection_mode": "catchup (projections applied after the commands)",
        "events_per_s": {
            **{name: round(median(r)) for name, r in rates.items()},
            "engine_projection_catch_up": round(events / catch_up_s),
            "engine_with_catch_up": round(both),
        },
        "ratios": {
            "engine_vs_eventsourcing": ratio(rates, "engine", "eventsourcing"),
            "engine_no_projections_vs_eventsourcing": ratio(
                rates, "engine_no_projections", "eventsourcing"
            ),
            "engine_with_catch_up_vs_eventsourcing": round(
                both / median(rates["eventsourcing"]), 3
            ),
        },
        "fast_path": _fast_path(requests, rounds),
    }

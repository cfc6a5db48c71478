"""The PostgreSQL suite's systems, each runnable in one process or in several at once.

A system is a name in :data:`SYSTEMS`; :func:`prepare` creates its tables in a schema,
:func:`work` creates ``requests`` requests there (untimed) and times 7 steps on each, and
:func:`parallel` runs ``work`` in ``procs`` spawned processes that start the timed part
together (a barrier), returning the total steps over the wall time from the first start
to the last finish (``time.monotonic`` is one clock for every process).

* ``engine``: technical-assistance on ``Engine`` (``db_functions`` on, the default);
  ``engine_db_functions_off``: the same with ``?db_functions=off``.
* ``eventsourcing`` / ``eventsourcing_db_functions``: a plain eventsourcing Application
  (get, one event, save), without and with ``POSTGRES_ENABLE_DB_FUNCTIONS``.
* ``raw_psycopg``: one ``INSERT`` per transaction (autocommit) into a table like
  eventsourcing's (uuid, version, topic, bytea state, bigserial id), a JSON body per row.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bench.common import PG_URL

__all__ = ["ASYNC_COMMIT", "SYSTEMS", "ensure_kek", "parallel", "prepare", "profile", "work"]

SYSTEMS = (
    "engine",
    "engine_db_functions_off",
    "eventsourcing",
    "eventsourcing_db_functions",
    "raw_psycopg",
)
ASYNC_COMMIT = ("engine_async_commit", "raw_psycopg_async_commit")
"""Diagnostics, one writer: the same with ``synchronous_commit=off`` for the session (a
commit does not wait for the WAL flush), which shows what the flush costs."""
_ASYNC = "-c synchronous_commit=off"


def ensure_kek() -> None:
    """The engine needs a key-encryption key on PostgreSQL: a throwaway one for the bench
    (inherited by the worker processes) unless the environment names one."""
    if not os.environ.get("SOCIEUX_KEY_FILE") and not os.environ.get("SOCIEUX_KEK"):
        os.environ["SOCIEUX_KEK"] = os.urandom(32).hex()


def _engine_url(schema: str, system: str) -> str:
    extra = {
        "engine_db_functions_off": "&db_functions=off",
        "engine_async_commit": "&options=" + quote(_ASYNC),
    }.get(system, "")
    return f"{PG_URL}?schema={schema}{extra}"


def _es_env(schema: str, *, functions: bool) -> dict[str, str]:
    parts = urlsplit(PG_URL)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y" if functions else "n",
    }


def _raw_table(schema: str) -> str:
    return f'"{schema}".raw_events'


def prepare(system: str, schema: str) -> None:
    """Create ``system``'s tables in ``schema`` (so no worker pays for it, or races)."""
    if system.startswith("engine"):
        from engine import Engine
        from projections import builtin
        from workflows.technical_assistance import definition

        with Engine.open(
            _engine_url(schema, system), workflows=[definition()], projections=builtin()
        ):
            return
    if system.startswith("eventsourcing"):
        from bench.raw import es_app

        with es_app(_es_env(schema, functions=system.endswith("functions"))):
            return
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {_raw_table(schema)} (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(f"CREATE UNIQUE INDEX ON {_raw_table(schema)} (notification_id)")


def _raw(schema: str, requests: int, *, options: str = "") -> tuple[float, int]:
    import psycopg

    from bench.spine import STEPS

    ids = [uuid.uuid4() for _ in range(requests)]
    insert = (
        f"INSERT INTO {_raw_table(schema)} (originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s)"
    )
    with psycopg.connect(PG_URL, autocommit=True, options=options) as conn:
        t0 = time.perf_counter()
        for version, step in enumerate(STEPS, start=2):
            for iid in ids:
                body = {
                    "trigger": step.trigger,
                    "dest": step.dest,
                    "payload": step.payload,
                    "actor_id": step.actor.id,
                    "role": step.actor.role,
                    "at": datetime.now(UTC).isoformat(),
                }
                conn.execute(
                    insert, (iid, version, step.trigger, json.dumps(body).encode()), prepare=True
                )
        return time.perf_counter() - t0, requests * len(STEPS)


def work(system: str, schema: str, requests: int, ready: Any = None) -> tuple[float, float, int]:
    """``requests`` x 7 steps of ``system``: (start, end) on ``time.monotonic`` and steps.

    With ``ready`` (a barrier), the timed part starts when every worker is ready.
    """
    if system.startswith("engine"):
        from bench.spine import fire_steps, start_requests
        from engine import Engine
        from projections import builtin
        from workflows.technical_assistance import definition

        url = _engine_url(schema, system)
        with Engine.open(url, workflows=[definition()], projections=builtin()) as engine:
            ids = start_requests(engine, requests)
            _wait(ready)
            start = time.monotonic()
            seconds, steps = fire_steps(engine, ids)
        return start, start + seconds, steps
    if system.startswith("eventsourcing"):
        from bench.raw import es_app, run_es

        env = _es_env(schema, functions=system.endswith("functions"))
        # eventsourcing re-creates its function on every open: processes opening at once
        # fail with "tuple concurrently updated"; prepare() made the tables already
        with es_app({**env, "CREATE_TABLE": "n"}) as app:
            _wait(ready)  # run_es creates its aggregates first: timed from its own start
            start = time.monotonic()
            seconds, steps = run_es(app, requests)
        return time.monotonic() - seconds, time.monotonic(), steps
    _wait(ready)
    start = time.monotonic()
    seconds, steps = _raw(schema, requests, options=_ASYNC if "async" in system else "")
    return start, start + seconds, steps


def _wait(ready: Any) -> None:
    if ready is not None:
        ready.wait(timeout=600)  # a peer that died breaks the barrier instead of a hang


def _worker(system: str, schema: str, requests: int, ready: Any, out: Any) -> None:
    from bench.common import quiet_logs

    quiet_logs()
    out.put(work(system, schema, requests, ready))


def parallel(system: str, schema: str, requests: int, procs: int) -> tuple[float, int]:
    """``procs`` processes, ``requests // procs`` requests each: (wall seconds, steps)."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(procs)
    out = ctx.Queue()
    share = max(1, requests // procs)
    workers = [
        ctx.Process(target=_worker, args=(system, schema, share, ready, out)) for _ in range(procs)
    ]
    for w in workers:
        w.start()
    results: list[tuple[float, float, int]] = []
    while len(results) < procs:
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed:
                for w in workers:
                    w.terminate()
                raise RuntimeError(f"a {system} worker exited with {failed[0]}") from None
    for w in workers:
        w.join(60)
        if w.exitcode != 0:
            raise RuntimeError(f"a {system} worker exited with {w.exitcode}")
    wall = max(end for _, end, _ in results) - min(start for start, _, _ in results)
    return wall, sum(steps for _, _, steps in results)


_WAITS = ("{method 'poll' of 'select.poll' objects}", "{built-in method select.select}")


def profile(schema: str, requests: int, top: int = 8) -> dict[str, Any]:
    """cProfile of one engine writer's timed steps (not the open, not the starts): seconds
    waiting for the server (the socket poll inside psycopg) against the rest (the
    client's Python), and the top functions by own time."""
    import cProfile
    import pstats

    from bench.spine import fire_steps, start_requests
    from engine import Engine
    from projections import builtin
    from workflows.technical_assistance import definition

    url = _engine_url(schema, "engine")
    profiler = cProfile.Profile()
    with Engine.open(url, workflows=[definition()], projections=builtin()) as engine:
        ids = start_requests(engine, requests)
        profiler.enable()
        seconds, steps = fire_steps(engine, ids)
        profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = sorted(((pstats.func_std_string(f), v[2]) for f, v in raw.items()), key=lambda r: -r[1])
    waiting = sum(t for name, t in rows if name in _WAITS)
    total = sum(t for _, t in rows)
    return {
        "steps": steps,
        "steps_per_s_under_profiler": round(steps / seconds),
        "profiled_seconds": round(total, 3),
        "waiting_for_server_seconds": round(waiting, 3),
        "waiting_share": round(waiting / total, 3) if total else 0.0,
        "client_us_per_step": round((total - waiting) / steps * 1e6),
        "server_wait_us_per_step": round(waiting / steps * 1e6),
        "top_own_time": [{"function": n, "seconds": round(t, 3)} for n, t in rows[:top]],
    }

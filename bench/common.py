"""Shared helpers: quiet logs, fresh SQLite files, timing, side-by-side rounds, the machine."""

from __future__ import annotations

import logging
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory

PG_URL = os.environ.get("SOCIEUX_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
"""The PostgreSQL server of the PostgreSQL suite (a fresh schema per run, dropped after)."""


def quiet_logs() -> None:
    """Benchmarks measure the engine, not the console."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@contextmanager
def fresh_db(name: str) -> Iterator[Path]:
    """A SQLite file in a new temporary directory (deleted afterwards)."""
    with tempfile.TemporaryDirectory(prefix="socieux-bench-") as d:
        yield Path(d) / f"{name}.db"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by ``fn()`` and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_ms(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> dict[str, float]:
    """p50 and p99 of ``repeat`` calls to ``fn``, in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(percentile(samples, 50), 3),
        "p99_ms": round(percentile(samples, 99), 3),
        "n": repeat,
    }


def side_by_side(
    systems: dict[str, Callable[[], tuple[float, int]]], rounds: int
) -> dict[str, list[float]]:
    """Run every system once per round, rotating the order; each returns (seconds, units).

    Returns the rates (units per second) of every round, per system. Rotating the order
    spreads the machine's drift (other tenants, page cache, thermal) over all systems.
    """
    names = list(systems)
    rates: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            seconds, units = systems[name]()
            rates[name].append(units / seconds)
    return rates


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def ratio(rates: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of ``a``'s rate over ``b``'s rate in the same round."""
    return round(median([x / y for x, y in zip(rates[a], rates[b], strict=True)]), 3)


def sqlite_connect(path: Path | str) -> sqlite3.Connection:
    """A raw sqlite3 connection in autocommit mode, WAL and synchronous FULL."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def pragma(conn: Any, name: str) -> Any:
    """The value of ``PRAGMA name`` on ``conn`` (sqlite3 connection or cursor)."""
    row = conn.execute(f"PRAGMA {name}").fetchone()
    return row[0]


class _FullSyncPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn.cursor().execute("PRAGMA synchronous=FULL")
        return conn


class FullSyncSQLiteFactory(SQLiteFactory):
    """eventsourcing's own SQLite factory; its connections set ``PRAGMA synchronous=FULL``.

    eventsourcing sets WAL but never ``synchronous``; SQLite's compiled-in default is
    already FULL, and this makes it explicit (the suite also reads it back).
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        old = self.datastore.pool
        self.datastore.pool = _FullSyncPool(db_name=old.db_name, lock_timeout=old.lock_timeout)
        old.close()


def es_sqlite_pragmas(app: Any) -> dict[str, Any]:
    """``journal_mode`` and ``synchronous`` as an eventsourcing app's connection sees them."""
    with app.recorder.datastore.transaction(commit=False) as cur:
        cur.execute("PRAGMA journal_mode")
        journal = cur.fetchone()[0]
        cur.execute("PRAGMA synchronous")
        sync = cur.fetchone()[0]
    return {
        "journal_mode": journal,
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync),
    }


def vm_hwm_kib() -> int:
    """This process's peak resident set size (``VmHWM``), in KiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def postgres_version(url: str) -> str | None:
    """``server_version`` of the PostgreSQL server at ``url``, or ``None`` if unreachable."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except Exception:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(PG_URL),
    }

"""The baselines: raw ``eventsourcing`` (get -> one event -> save) and raw ``sqlite3``.

Both do, per step, what the engine's storage does at the least: one durable transaction.
Neither validates, guards, hashes nor projects anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import sqlite_connect
from bench.spine import START, STEPS

__all__ = ["RawRequest", "es_app", "run_es", "run_sqlite3"]


class RawRequest(Aggregate):
    """The equivalent aggregate: a state and a dict of data, one event per step."""

    @event("Submitted")
    def __init__(self, payload: dict[str, Any], actor_id: str, role: str) -> None:
        self.state = "submitted"
        self.data = dict(payload)
        self.last_actor = actor_id
        self.last_role = role

    @event("Stepped")
    def step(
        self, trigger: str, dest: str, payload: dict[str, Any], actor_id: str, role: str
    ) -> None:
        """Move to ``dest`` and merge ``payload``."""
        self.trigger = trigger
        self.state = dest
        self.data = {**self.data, **payload}
        self.last_actor = actor_id
        self.last_role = role


@contextmanager
def es_app(env: dict[str, str]) -> Iterator[Application[UUID]]:
    """A plain eventsourcing Application (no snapshots, no aggregate cache)."""
    app: Application[UUID] = Application(env=env)
    try:
        yield app
    finally:
        app.close()


def sqlite_env(path: Path) -> dict[str, str]:
    """eventsourcing on a SQLite file, WAL (its default) and ``synchronous=FULL``."""
    return {"PERSISTENCE_MODULE": "bench.common:FullSyncSQLiteFactory", "SQLITE_DBNAME": str(path)}


def run_es(app: Application[UUID], requests: int) -> tuple[float, int]:
    """Create ``requests`` aggregates (untimed), then time 7 steps on each, round-robin."""
    ids = []
    for _ in range(requests):
        agg = RawRequest(dict(START.payload or {}), START.actor.id, START.actor.role)
        app.save(agg)
        ids.append(agg.id)
    t0 = time.perf_counter()
    for step in STEPS:
        for iid in ids:
            agg = app.repository.get(iid)
            agg.step(
                step.trigger, step.dest, dict(step.payload or {}), step.actor.id, step.actor.role
            )
            app.save(agg)
    seconds = time.perf_counter() - t0
    last = app.repository.get(ids[-1])
    if (last.state, last.version) != ("disseminated", 1 + len(STEPS)):
        raise RuntimeError(f"the walk ended at {last.state} v{last.version}")
    return seconds, requests * len(STEPS)


def run_sqlite3(path: Path, requests: int, *, synchronous: str = "FULL") -> tuple[float, int]:
    """Insert as many rows as the others record events, one transaction per row
    (``synchronous``: FULL, as the engine's default, or NORMAL)."""
    conn = sqlite_connect(path)
    conn.execute(f"PRAGMA synchronous={synchronous}")
    try:
        conn.execute(
            "CREATE TABLE events (instance_id TEXT NOT NULL, version INTEGER NOT NULL, "
            "topic TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (instance_id, version))"
        )
        ids = [f"{n:032x}" for n in range(requests)]
        t0 = time.perf_counter()
        for version, step in enumerate(STEPS, start=2):
            for iid in ids:
                state = json.dumps(
                    {
                        "trigger": step.trigger,
                        "dest": step.dest,
                        "payload": step.payload,
                        "actor_id": step.actor.id,
                        "role": step.actor.role,
                        "at": datetime.now(UTC).isoformat(),
                    }
                )
                conn.execute("BEGIN")
                conn.execute(
                    "INSERT INTO events VALUES (?, ?, ?, ?)", (iid, version, step.trigger, state)
                )
                conn.execute("COMMIT")
        seconds = time.perf_counter() - t0
        (count,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
        if count != requests * len(STEPS):
            raise RuntimeError(f"{count} rows")
    finally:
        conn.close()
    return seconds, requests * len(STEPS)

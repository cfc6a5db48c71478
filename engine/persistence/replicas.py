"""PostgreSQL streaming replicas: checking a replica URL at open, and read-your-writes.

The engine relies on PostgreSQL's own replication: commands go to the primary, reads to a
hot standby. Nothing of ours is replicated by hand; the event tables, the read models, the
seals and the keys all reach a replica as WAL.

* :func:`replica_config` parses a replica's URL into a read-only store configuration (the
  engine creates nothing there; the primary's schema and key file are used when the replica
  URL names none).
* :func:`check_replica` refuses, at open, a replica that cannot be reached, that is itself
  a primary (not in recovery), or that replicates another cluster (its
  ``system_identifier`` differs from the primary's) or another database.
* Read-your-writes compares WAL positions: :func:`primary_lsn` is ``pg_current_wal_lsn()``
  on the primary, taken after the commands to be seen have committed, and
  :func:`wait_replayed` polls ``pg_last_wal_replay_lsn()`` on the replica until it has
  replayed that far, or raises :class:`~engine.errors.ReplicaLag` after the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

from engine.errors import ReplicaInvalid, ReplicaLag
from engine.persistence.sql import Cursor
from engine.persistence.urls import KEY_FILE, StoreConfig, parse_url, postgres_connect_kwargs

__all__ = [
    "ClusterIdentity",
    "check_replica",
    "identity",
    "primary_lsn",
    "replayed_lsn",
    "replica_config",
    "wait_replayed",
]

ReadCursor = Callable[[], AbstractContextManager[Cursor]]
"""Opens a cursor on one server (a :class:`~engine.persistence.sql.SqlStore`'s ``read``)."""
_IDENTITY = (
    "SELECT (SELECT system_identifier FROM pg_control_system())::text, current_database(), "
    "pg_is_in_recovery()"
)


@dataclass(frozen=True)
class ClusterIdentity:
    """Which cluster and database a connection reached, and whether it is a standby."""

    system_identifier: str
    database: str
    in_recovery: bool


def replica_config(url: str, primary: StoreConfig) -> StoreConfig:
    """The read-only configuration of replica ``url`` of ``primary`` (``ReplicaInvalid``
    if it is not a PostgreSQL URL)."""
    if not isinstance(url, str):
        raise ReplicaInvalid("a replica URL must be a string", url=repr(url))
    config = parse_url(url)
    if config.kind != "postgresql":
        raise ReplicaInvalid(f"replica {config.label} is not a PostgreSQL URL", url=config.label)
    env = dict(config.env)
    env["CREATE_TABLE"] = "n"  # a hot standby accepts no DDL; the primary made the tables
    for key in ("POSTGRES_SCHEMA", KEY_FILE):
        env[key] = env.get(key) or primary.env.get(key, "")
    return replace(config, env=env, read_only=True)


def identity(config: StoreConfig) -> ClusterIdentity:
    """Connect once to ``config``'s server and ask who it is (``ReplicaInvalid`` when it
    cannot be reached)."""
    import psycopg

    try:
        kwargs = postgres_connect_kwargs(config.env)
        with psycopg.connect(**kwargs, autocommit=True) as conn:  # type: ignore[arg-type]
            row = conn.execute(_IDENTITY).fetchone()
    except psycopg.Error as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReplicaInvalid(
            f"replica {config.label} cannot be reached: {detail}", url=config.label
        ) from None
    assert row is not None
    return ClusterIdentity(str(row[0]), str(row[1]), bool(row[2]))


def check_replica(primary: ClusterIdentity, replica: StoreConfig) -> ClusterIdentity:
    """``replica``'s identity, once it is known to be a standby of ``primary``'s cluster
    serving the same database; ``ReplicaInvalid`` otherwise."""
    found = identity(replica)
    label = replica.label
    if not found.in_recovery:
        raise ReplicaInvalid(
            f"replica {label} is a primary (not in recovery): commands and reads would "
            "split between two writable servers",
            url=label,
        )
    if found.system_identifier != primary.system_identifier:
        raise ReplicaInvalid(
            f"replica {label} replicates another cluster (system identifier "
            f"{found.system_identifier}, the primary's is {primary.system_identifier})",
            url=label,
        )
    if found.database != primary.database:
        raise ReplicaInvalid(
            f"replica {label} names database {found.database!r}, the primary {primary.database!r}",
            url=label,
        )
    return found


def primary_lsn(read: ReadCursor) -> str:
    """The primary's current WAL position (every commit so far is at or before it)."""
    with read() as cur:
        cur.execute("SELECT pg_current_wal_lsn()::text")
        return str(_first(cur.fetchone()))


def replayed_lsn(read: ReadCursor) -> str | None:
    """How far the replica has replayed (``None``: it is no longer in recovery)."""
    with read() as cur:
        cur.execute("SELECT pg_last_wal_replay_lsn()::text")
        value = _first(cur.fetchone())
    return None if value is None else str(value)


def wait_replayed(read: ReadCursor, lsn: str, *, timeout: float, label: str) -> float:
    """Block until the replica has replayed WAL position ``lsn``; the seconds waited.

    Polls every millisecond at first, backing off to 20 ms. ``ReplicaLag`` after
    ``timeout`` seconds (a replica paused, cut off or far behind)."""
    started = time.monotonic()
    pause = 0.001
    while True:
        with read() as cur:
            cur.execute(
                "SELECT pg_last_wal_replay_lsn()::text, "
                "pg_wal_lsn_diff(pg_last_wal_replay_lsn(), ?::pg_lsn) >= 0",
                (lsn,),
            )
            row = cur.fetchone()
        replayed, done = _pair(row)
        waited = time.monotonic() - started
        if done:
            return waited
        if waited >= timeout:
            raise ReplicaLag(
                f"replica {label} had replayed WAL to {replayed}, not yet to the primary's "
                f"{lsn}, after {timeout:g} s",
                backend=label,
                waited_for=lsn,
                replayed=replayed,
                timeout=timeout,
            )
        time.sleep(min(pause, max(0.0, timeout - waited)))
        pause = min(pause * 2, 0.02)


def _first(row: object) -> object:
    if isinstance(row, dict):
        return next(iter(row.values()))
    assert isinstance(row, tuple | list)
    return row[0]


def _pair(row: object) -> tuple[object, bool]:
    values = list(row.values()) if isinstance(row, dict) else list(row)  # type: ignore[call-overload]
    return values[0], bool(values[1])

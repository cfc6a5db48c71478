"""Persistence configuration: database URLs, the eventsourcing application, error translation.

| URL                        | backend                          |
|----------------------------|----------------------------------|
| ``sqlite:///path/to.db``   | eventsourcing SQLite, WAL        |
| ``memory://``              | eventsourcing POPO (in process)  |
| ``postgresql://u:p@h/db``  | eventsourcing PostgreSQL         |

SQLite runs with ``synchronous=FULL`` unless the URL says ``?synchronous=normal``
(faster; a power cut may lose the last commits, never corrupt the file).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError as ESIntegrityError
from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteFactory,
)
from eventsourcing.utils import Environment

from engine.errors import EngineError, StorageUnavailable
from engine.instance.aggregate import WorkflowInstance
from engine.persistence.sql import PostgresStore, SQLiteStore, SqlStore

__all__ = [
    "DEFAULT_URL",
    "SNAPSHOT_INTERVAL",
    "EngineApplication",
    "StoreConfig",
    "ddl_lock",
    "parse_url",
    "sql_store",
    "translate_errors",
]

DEFAULT_URL = "sqlite:///socieux.db"
SNAPSHOT_INTERVAL = 50
"""A snapshot every 50 events: a typical request (10-20 events) never pays for one,
while a 1,000-event instance loads from a snapshot plus at most 49 events."""

_SYNC_LEVELS = {"full": "FULL", "normal": "NORMAL", "extra": "EXTRA", "off": "OFF"}


@dataclass(frozen=True)
class StoreConfig:
    """A parsed database URL: the backend ``kind``, eventsourcing settings, a safe label."""

    kind: str
    env: dict[str, str] = field(default_factory=dict)
    label: str = ""


def _bad(url: str, why: str) -> StorageUnavailable:
    return StorageUnavailable(f"invalid database URL {url!r}: {why}", url=url)


def parse_url(url: str) -> StoreConfig:
    """Parse a database URL into a :class:`StoreConfig`, or raise ``StorageUnavailable``."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "memory":
        return StoreConfig("memory", {"PERSISTENCE_MODULE": "eventsourcing.popo"}, "memory://")
    if parts.scheme == "sqlite":
        return _sqlite_config(url, parts.path, query)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres_config(url, parts, query)
    raise _bad(url, "expected sqlite:///PATH, memory:// or postgresql://USER@HOST/DB")


def _sqlite_config(url: str, raw_path: str, query: dict[str, str]) -> StoreConfig:
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    if not path:
        raise _bad(url, "no file path (use sqlite:///relative.db or sqlite:////abs/path.db)")
    sync = query.get("synchronous", "full").lower()
    if sync not in _SYNC_LEVELS:
        raise _bad(url, f"synchronous must be one of {', '.join(_SYNC_LEVELS)}")
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise _bad(url, f"directory {parent} does not exist")
    mode = query.get("mode", "rwc")
    if mode not in ("ro", "rw", "rwc"):
        raise _bad(url, "mode must be ro, rw or rwc")
    file_path = Path(path).expanduser()
    if mode != "rwc" and not file_path.is_file():
        raise _bad(url, f"file {file_path} does not exist (mode={mode})")
    lock_timeout = query.get("lock_timeout", "10")
    if not lock_timeout.isdigit():
        raise _bad(url, "lock_timeout must be a whole number of seconds")
    dbname = str(file_path) if mode == "rwc" else f"file:{file_path}?mode={mode}"
    env = {
        "PERSISTENCE_MODULE": "engine.persistence.store:DurableSQLiteFactory",
        "SQLITE_DBNAME": dbname,
        "CREATE_TABLE": "n" if mode == "ro" else "y",
        "SQLITE_LOCK_TIMEOUT": lock_timeout,
        "SOCIEUX_SQLITE_SYNCHRONOUS": _SYNC_LEVELS[sync],
        "APPLICATION_RECORDER_TOPIC": "engine.persistence.store:InlineSQLiteRecorder",
    }
    return StoreConfig("sqlite", env, f"sqlite:///{path}")


def _postgres_config(url: str, parts: Any, query: dict[str, str]) -> StoreConfig:
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or not parts.hostname:
        raise _bad(url, "expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME")
    try:
        port = parts.port or 5432
    except ValueError:
        raise _bad(url, "the port is not a number") from None
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "5"),
        "POSTGRES_SCHEMA": query.get("schema", ""),
        "POSTGRES_POOL_SIZE": query.get("pool_size", "5"),
    }
    label = f"postgresql://{env['POSTGRES_USER']}@{parts.hostname}:{port}/{dbname}"
    return StoreConfig("postgresql", env, label)


@contextmanager
def ddl_lock(config: StoreConfig) -> Iterator[None]:
    """Serialise table creation between processes opening one PostgreSQL database at once.

    Concurrent ``CREATE ... IF NOT EXISTS`` statements race in PostgreSQL's catalog
    ("tuple concurrently updated"); a session advisory lock held while the engine creates
    its schema and tables makes them take turns. Also creates the schema named in the URL.
    """
    if config.kind != "postgresql":
        yield
        return
    import psycopg
    from psycopg import sql

    env = config.env
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('socieux: create tables'))")
        try:
            schema = env.get("POSTGRES_SCHEMA")
            if schema:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('socieux: create tables'))")


class _DurablePool(SQLiteConnectionPool):
    """Sets ``PRAGMA synchronous`` on every new connection (FULL by default)."""

    synchronous: ClassVar[str] = "FULL"

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(f"PRAGMA synchronous={self.synchronous}")
        except sqlite3.Error as exc:  # e.g. "file is not a database"
            conn.close()
            raise StorageUnavailable(f"cannot use SQLite file: {exc}") from exc
        return conn


class DurableSQLiteFactory(SQLiteFactory):
    """eventsourcing's SQLite factory with an explicit durability level."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        level = self.env.get("SOCIEUX_SQLITE_SYNCHRONOUS") or "FULL"
        old = self.datastore.pool
        pool_cls = type("_Pool", (_DurablePool,), {"synchronous": level})
        self.datastore.pool = pool_cls(db_name=old.db_name, lock_timeout=old.lock_timeout)
        old.close()


class InlineSQLiteRecorder(SQLiteApplicationRecorder):
    """Calls ``inline_projection(cursor, notification_ids)`` inside the insert transaction.

    This is the hook that lets read models and their positions be written in the same
    transaction (and the same fsync) as the events they come from.
    """

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        hook = kwargs.get("inline_projection")
        if hook is not None and ids:
            hook(c, ids)
        return ids


def sql_store(config: StoreConfig) -> SqlStore:
    """The store for read models: the same database as the events."""
    if config.kind == "sqlite":
        return SQLiteStore(
            config.env["SQLITE_DBNAME"],
            synchronous=config.env["SOCIEUX_SQLITE_SYNCHRONOUS"],
            timeout=float(config.env["SQLITE_LOCK_TIMEOUT"]),
        )
    if config.kind == "postgresql":
        return PostgresStore(config.env)
    return SQLiteStore(":memory:", synchronous="OFF")


class EngineApplication(Application[UUID]):
    """The eventsourcing application behind the façade (configured only by its URL)."""

    name = "socieux"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {WorkflowInstance: SNAPSHOT_INTERVAL}

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """Use only the settings derived from the URL, never the process environment."""
        return Environment(name, {"IS_SNAPSHOTTING_ENABLED": "y", **dict(env or {})})


def is_write_conflict(exc: BaseException) -> bool:
    """True when two writers raced for the same aggregate version."""
    return isinstance(exc, ESIntegrityError)


def _is_driver_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return isinstance(exc, PersistenceError | sqlite3.Error | OSError) or module.startswith(
        ("psycopg", "psycopg_pool", "sqlite3")
    )


@contextmanager
def translate_errors(what: str, label: str) -> Iterator[None]:
    """Turn driver and persistence errors into ``StorageUnavailable`` (engine errors pass)."""
    try:
        yield
    except EngineError:
        raise
    except Exception as exc:
        if is_write_conflict(exc) or not _is_driver_error(exc):
            raise
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageUnavailable(
            f"{what} failed on {label}: {detail}", backend=label, operation=what
        ) from exc

"""A small SQL adapter for read models: one interface over SQLite and PostgreSQL.

Projection SQL is written once with ``?`` placeholders and ``{t:name}``-free plain table
names; :meth:`SqlStore.table` qualifies a name (the schema on PostgreSQL). Write
transactions on SQLite start with ``BEGIN IMMEDIATE`` so readers never have to upgrade.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["Cursor", "PostgresStore", "SQLiteStore", "SqlStore"]


class Cursor(Protocol):
    """The cursor surface projections use (sqlite3, eventsourcing and psycopg all fit)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any:
        """Run one statement."""

    def executemany(self, sql: str, params: Sequence[Sequence[Any]], /) -> Any:
        """Run one statement for many parameter rows."""

    def fetchall(self) -> Any:
        """All remaining rows."""

    def fetchone(self) -> Any:
        """The next row or ``None``."""


class SqlStore(Protocol):
    """Where read models live: the same database as the events."""

    dialect: str

    def table(self, name: str) -> str:
        """The qualified table name."""

    def write(self) -> Any:
        """A context manager giving a cursor in a write transaction (commit on success)."""

    def read(self) -> Any:
        """A context manager giving a cursor for reads."""

    def close(self) -> None:
        """Release connections."""


class SQLiteStore:
    """Read models in a SQLite file (or ``:memory:`` for the in-memory backend)."""

    dialect = "sqlite"

    def __init__(self, path: str, *, synchronous: str = "FULL", timeout: float = 10.0) -> None:
        uri = path.startswith("file:")
        self._conn = sqlite3.connect(
            path, uri=uri, isolation_level=None, check_same_thread=False, timeout=timeout
        )
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:" and "mode=ro" not in path:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._lock = threading.RLock()

    def table(self, name: str) -> str:
        """SQLite tables are unqualified."""
        return name

    @contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Cursor]:
        """A cursor outside any explicit transaction."""
        with self._lock:
            yield self._conn.cursor()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class _PgCursor:
    """Translates ``?`` placeholders to psycopg's ``%s``."""

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cur.executemany(sql.replace("?", "%s"), params)

    def fetchall(self) -> Any:
        return self._cur.fetchall()

    def fetchone(self) -> Any:
        return self._cur.fetchone()


class PostgresStore:
    """Read models in the PostgreSQL database (and schema) of the events."""

    dialect = "postgres"

    def __init__(self, env: dict[str, str]) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self._conn = psycopg.connect(
            dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]), row_factory=dict_row,
        )
        self._schema = env.get("POSTGRES_SCHEMA") or "public"
        self._lock = threading.RLock()

    def table(self, name: str) -> str:
        """``"schema".name``."""
        return f'"{self._schema}".{name}'

    @contextmanager
    def write(self) -> Iterator[_PgCursor]:
        """One transaction, committed on success."""
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield _PgCursor(cur)

    @contextmanager
    def read(self) -> Iterator[_PgCursor]:
        """A short read-only transaction."""
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield _PgCursor(cur)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

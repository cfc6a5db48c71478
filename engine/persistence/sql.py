"""The one SQL adapter for read models, seals and hooks, over SQLite and PostgreSQL.

Projection SQL is written once with ``?`` placeholders and ``{t:name}``-free plain table
names; :meth:`SqlStore.table` qualifies a name (the schema on PostgreSQL). Write
transactions on SQLite start with ``BEGIN IMMEDIATE`` so readers never have to upgrade.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import InvalidArgument, StorageUnavailable

if TYPE_CHECKING:
    import psycopg
    from eventsourcing.postgres import PostgresDatastore
    from eventsourcing.sqlite import SQLiteDatastore
    from psycopg.rows import DictRow

__all__ = [
    "Cursor",
    "PooledSQLiteStore",
    "PostgresStore",
    "SQLiteStore",
    "SqlStore",
    "is_unique_violation",
]


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

    def has_table(self, cur: Cursor, name: str) -> bool:
        """Whether table ``name`` (unqualified) exists, asked with ``cur``."""

    def write(self) -> AbstractContextManager[Cursor]:
        """A cursor in a write transaction (committed on success, rolled back on error)."""

    def read(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads."""

    def close(self) -> None:
        """Release connections."""


@contextmanager
def _unicode_checked() -> Iterator[None]:
    """A query parameter the database cannot take (text with a lone surrogate, as from a
    non-UTF-8 command line; an integer beyond 64 bits, as ``--offset 2**63``) is the
    caller's mistake: ``InvalidArgument``, not a driver crash."""
    try:
        yield
    except UnicodeEncodeError:
        msg = "text must be valid Unicode (it holds a lone surrogate, e.g. from non-UTF-8 input)"
        raise InvalidArgument(msg) from None
    except OverflowError:
        raise InvalidArgument("a number is too large for the database (over 64 bits)") from None
    except Exception as exc:
        if type(exc).__name__ == "NumericValueOutOfRange":  # psycopg: the same, on PostgreSQL
            raise InvalidArgument("a number is out of range for the database") from None
        raise


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is a duplicate key (UNIQUE / PRIMARY KEY) from either database."""
    for error in (exc, exc.__cause__):  # eventsourcing wraps the driver's error
        if isinstance(error, sqlite3.IntegrityError):
            return "UNIQUE" in str(error) or "PRIMARY KEY" in str(error)
        if type(error).__name__ == "UniqueViolation":  # psycopg.errors, not imported here
            return True
    return False


class SQLiteStore:
    """Read models in a SQLite file (or ``:memory:`` for the in-memory backend)."""

    dialect = "sqlite"

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        uri = path.startswith("file:")
        self._conn = sqlite3.connect(
            path, uri=uri, isolation_level=None, check_same_thread=False, timeout=timeout
        )
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:" and not read_only:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._lock = threading.RLock()

    def table(self, name: str) -> str:
        """SQLite tables are unqualified."""
        return name

    def has_table(self, cur: Cursor, name: str) -> bool:
        """Whether table ``name`` exists."""
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with self._lock, _unicode_checked():
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
        with self._lock, _unicode_checked():
            yield self._conn.cursor()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class PooledSQLiteStore:
    """Read models in the events' SQLite file, on the event store's own connection pool.

    One connection discipline for events and read models: every write transaction, an
    event insert or a projection update, holds the pool's writer lock, so threads of one
    engine hand over to each other in-process (no busy-waiting on SQLite's file lock, no
    lock cycle between two connections). Writes begin with ``BEGIN IMMEDIATE``. No caller
    ever holds a connection while asking for another.
    """

    dialect = "sqlite"

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self._pool = datastore.pool

    def table(self, name: str) -> str:
        """SQLite tables are unqualified."""
        return name

    def has_table(self, cur: Cursor, name: str) -> bool:
        """Whether table ``name`` exists."""
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` on the pool's writer connection."""
        conn = self._pool.get_connection(is_writer=True)
        try:
            with _unicode_checked():
                cur = conn.cursor()
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield cur
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
        finally:
            self._pool.put_connection(conn)

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A reader connection of the pool (WAL: readers never wait for the writer)."""
        conn = self._pool.get_connection(is_writer=False)
        try:
            with _unicode_checked():
                yield conn.cursor()
        finally:
            self._pool.put_connection(conn)

    def compact(self) -> None:
        """Checkpoint the WAL into the file, ``VACUUM`` it and truncate the WAL (erasure:
        no freed page or WAL frame keeps a destroyed key)."""
        conn = self._pool.get_connection(is_writer=True)
        try:
            cur = conn.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.execute("VACUUM")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._pool.put_connection(conn)

    def close(self) -> None:
        """The event store closes the pool."""


class _PgCursor:
    """Translates ``?`` placeholders to psycopg's ``%s``."""

    def __init__(self, cursor: psycopg.Cursor[DictRow]) -> None:
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
    """Read models in the PostgreSQL database (and schema) of the events, on the event
    store's own connection pool (psycopg_pool): any number of threads, each call taking a
    connection for one transaction and giving it back; a connection the server dropped is
    replaced by the pool, so a lost connection fails one call, never every later one."""

    dialect = "postgres"

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._ds = datastore
        self._closed = False
        self._tables: dict[str, str] = {}

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[_PgCursor]:
        import psycopg

        if self._closed:
            raise StorageUnavailable("the read-model store is closed")
        with _unicode_checked():
            try:
                with self._ds.transaction(commit=commit) as cur:
                    yield _PgCursor(cur)
            except psycopg.OperationalError as exc:  # connection lost or refused
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "lost"
                raise StorageUnavailable(f"read models on PostgreSQL: {detail}") from exc

    def table(self, name: str) -> str:
        """``"schema"."name"``, quoted by psycopg's ``sql.Identifier``."""
        quoted = self._tables.get(name)
        if quoted is None:
            from psycopg import sql

            quoted = sql.Identifier(self._ds.schema, name).as_string(None)
            self._tables[name] = quoted
        return quoted

    def has_table(self, cur: Cursor, name: str) -> bool:
        """Whether table ``name`` exists in the schema."""
        cur.execute("SELECT to_regclass(?) AS t", (self.table(name),))
        row = cur.fetchone()
        return row is not None and row["t"] is not None

    def write(self) -> AbstractContextManager[Cursor]:
        """One transaction, committed on success."""
        return self._transaction(commit=True)

    def read(self) -> AbstractContextManager[Cursor]:
        """A short transaction, rolled back at the end."""
        return self._transaction(commit=False)

    def close(self) -> None:
        """The event store closes the pool; later calls fail as closed."""
        self._closed = True

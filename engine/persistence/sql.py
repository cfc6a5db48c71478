"""A small SQL adapter for read models: one interface over SQLite and PostgreSQL.

Projection SQL is written once with ``?`` placeholders and ``{t:name}``-free plain table
names; :meth:`SqlStore.table` qualifies a name (the schema on PostgreSQL). Write
transactions on SQLite start with ``BEGIN IMMEDIATE`` so readers never have to upgrade.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import InvalidArgument, StorageUnavailable

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import DictRow

__all__ = ["Cursor", "PostgresStore", "SQLiteStore", "SqlStore", "is_unique_violation"]


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
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc)
    return type(exc).__name__ == "UniqueViolation"  # psycopg.errors, not imported here


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

    def __init__(self, connect_kwargs: Mapping[str, str | int], schema: str) -> None:
        self._kwargs = dict(connect_kwargs)
        self._schema = schema or "public"
        self._lock = threading.RLock()
        self._closed = False
        self._tables: dict[str, str] = {}
        self._conn: psycopg.Connection[DictRow] = self._connect()

    def _connect(self) -> psycopg.Connection[DictRow]:
        import psycopg
        from psycopg.rows import dict_row

        return psycopg.connect(**self._kwargs, row_factory=dict_row)  # type: ignore[arg-type]

    def _live(self) -> Any:
        """The connection, opened again if the server dropped it (restart, terminated
        backend, network cut): a lost connection fails one call, never every later one."""
        if self._closed:
            raise StorageUnavailable("the read-model store is closed")
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[_PgCursor]:
        import psycopg

        with self._lock, _unicode_checked():
            try:
                conn = self._live()
                with conn.transaction(), conn.cursor() as cur:
                    yield _PgCursor(cur)
            except psycopg.OperationalError as exc:  # connection lost or refused
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "lost"
                raise StorageUnavailable(f"read models on PostgreSQL: {detail}") from exc

    def table(self, name: str) -> str:
        """``"schema"."name"``, quoted by psycopg's ``sql.Identifier``."""
        quoted = self._tables.get(name)
        if quoted is None:
            from psycopg import sql

            quoted = sql.Identifier(self._schema, name).as_string(self._live())
            self._tables[name] = quoted
        return quoted

    def has_table(self, cur: Cursor, name: str) -> bool:
        """Whether table ``name`` exists in the schema."""
        cur.execute("SELECT to_regclass(?) AS t", (self.table(name),))
        row = cur.fetchone()
        return row is not None and row["t"] is not None

    @contextmanager
    def write(self) -> Iterator[_PgCursor]:
        """One transaction, committed on success."""
        with self._transaction() as cur:
            yield cur

    @contextmanager
    def read(self) -> Iterator[_PgCursor]:
        """A short read-only transaction."""
        with self._transaction() as cur:
            yield cur

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._closed = True
            self._conn.close()

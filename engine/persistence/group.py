"""Group commit: the writes waiting at one moment share one transaction and one fsync.

A command hands its events (already encoded) to :meth:`GroupCommit.record` and waits. The
first waiter that finds no leader becomes the leader: it takes the pool's writer connection,
then every write queued at that moment (up to :data:`MAX_GROUP`), opens one write
transaction (``BEGIN IMMEDIATE``), writes each under its own ``SAVEPOINT`` (the events, then
its inline hook: read models, positions, the deadline table), and commits once. Each
caller returns only after that commit, with its notification ids, so a returned command
is durable and the instance cache only ever sees durable events.

* A write that fails on its own (another writer took its version: a primary-key
  violation; or its inline hook raised) is rolled back to its savepoint alone. Its caller
  gets the error (``IntegrityError`` for a taken version, so the command service re-decides
  as before); the rest of the group commits.
* When the transaction fails as a whole (the lock could not be had, the disk is full,
  ``COMMIT`` failed), nothing of the group is written and every waiter gets the error.
* A process killed mid-group leaves nothing of that group: the commit is atomic, and no
  caller of the group had been answered.

PostgreSQL works the same way on one pooled connection: ``BEGIN``, the recorder's
``LOCK TABLE ... IN EXCLUSIVE MODE`` and ``NOTIFY`` once per group, each write's ``INSERT``
under a savepoint, one ``COMMIT`` (one WAL flush). A lost connection is retried as
eventsourcing's recorder retries it (the whole group, 10 attempts, 0.2 s apart). A write
alone takes the recorder's own path, unchanged.

See docs/group-commit.md for the design and its measured effect.
"""

# long module: the leader/follower queue and its two backends (SQLite, PostgreSQL) share
# the Write record and the rules for a write's own failure and the group's, so they stay
# together.

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.persistence import IntegrityError as ESIntegrityError
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    PersistenceError,
    Recorder,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder
    from eventsourcing.sqlite import SQLiteCursor

__all__ = [
    "MAX_GROUP",
    "GroupCommit",
    "GroupStats",
    "GroupWriteFailed",
    "Write",
    "group_commit_for",
]

MAX_GROUP = 256
"""The most writes one transaction takes; later arrivals wait for the next group."""

Hook = Callable[[Any, Sequence[int]], None]
"""An inline hook: called with the transaction's cursor and a write's notification ids."""
Take = Callable[[], "list[Write]"]


class GroupWriteFailed(PersistenceError):
    """The group's transaction failed as a whole: nothing of it was written."""


@dataclass(eq=False)
class Write:
    """One caller's events, and what became of them."""

    stored: Sequence[StoredEvent]
    hook: Hook | None
    ids: list[int] | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class GroupStats:
    """What one engine's group commit did so far (for tests and benchmarks)."""

    transactions: int = 0
    """Write transactions committed or attempted."""
    writes: int = 0
    """Writes they carried (a command's event, a batch, a correction, ...)."""
    largest: int = 0
    """The most writes one transaction carried."""


class _Backend(Protocol):
    def commit(self, take: Take) -> None:
        """Hold a writer connection, ``take()`` the group, write each, commit once."""


def group_commit_for(recorder: Recorder) -> GroupCommit | None:
    """Group commit for a SQLite or PostgreSQL application recorder (else ``None``)."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return GroupCommit(_SQLite(recorder))
    if any(c.__module__ == "eventsourcing.postgres" for c in type(recorder).__mro__):
        # eventsourcing's recorder or the engine's subclass (engine.persistence.postgres)
        from eventsourcing.postgres import PostgresApplicationRecorder

        if isinstance(recorder, PostgresApplicationRecorder):
            return GroupCommit(_Postgres(recorder))
    return None


class GroupCommit:
    """Leader/follower group commit (one per engine, shared by its threads)."""

    def __init__(self, backend: _Backend, max_group: int = MAX_GROUP) -> None:
        self._backend = backend
        self._max = max_group
        self._queue: list[Write] = []
        self._leading = False
        self._cond = threading.Condition(threading.Lock())
        self._waiting = 0
        """Callers waiting on ``_cond`` (the leader wakes them only if there are any)."""
        self.stats = GroupStats()

    def queued(self) -> int:
        """How many writes wait for the next transaction now."""
        with self._cond:
            return len(self._queue)

    def record(self, stored: Sequence[StoredEvent], hook: Hook | None = None) -> list[int]:
        """Write ``stored`` in the next group; its notification ids once it is durable.

        Raises eventsourcing's ``IntegrityError`` when another writer took one of the
        versions (nothing of this write is stored), the inline hook's error, or
        :class:`GroupWriteFailed` when the whole transaction failed.
        """
        write = Write(stored, hook)
        with self._cond:
            self._queue.append(write)
            lead = not self._leading  # no leader: lead at once, without a second lock
            self._leading = True
        while True:
            if not lead:
                with self._cond:
                    while not write.done and self._leading:
                        self._waiting += 1
                        try:
                            self._cond.wait()
                        finally:
                            self._waiting -= 1
                    if write.done:
                        break
                    self._leading = True
            try:
                self._lead()
            finally:
                with self._cond:
                    self._leading = False
                    if self._waiting:
                        self._cond.notify_all()
            if write.done:  # set under the lock by this leader's ``_finish``
                break
            lead = False
        if write.error is not None:
            raise write.error
        assert write.ids is not None
        return write.ids

    def _lead(self) -> None:
        """Commit one group. The group is taken only once the backend holds the writer
        connection: writes that arrive while the leader waits for it join this group."""
        taken: list[Write] = []

        def take() -> list[Write]:
            if not taken:
                taken.extend(self._take())
            for write in taken:  # a retried transaction starts every write afresh
                write.ids = write.error = None
            return taken

        try:
            self._backend.commit(take)
        except BaseException as exc:
            group = taken or self._take()
            for write in group:
                if write.error is None:
                    write.ids = None
                    write.error = _group_error(exc)
            self._finish(group)
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: stop here
                raise
            return
        self._finish(taken)

    def _take(self) -> list[Write]:
        with self._cond:
            group = self._queue[: self._max]
            del self._queue[: self._max]
        return group

    def _finish(self, group: list[Write]) -> None:
        with self._cond:
            self.stats.transactions += 1
            self.stats.writes += len(group)
            self.stats.largest = max(self.stats.largest, len(group))
            for write in group:
                write.done = True


class _SQLite:
    """One ``BEGIN IMMEDIATE`` transaction on the pool's writer connection."""

    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self._recorder = recorder

    def commit(self, take: Take) -> None:
        pool = self._recorder.datastore.pool
        conn = pool.get_connection(is_writer=True)
        try:
            group = take()
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if len(group) == 1:  # alone: its failure is the transaction's, no savepoint
                    self._alone(conn, cur, group[0])
                    return
                for write in group:
                    self._one(cur, write)
                conn.commit()
            except BaseException:
                with contextlib.suppress(Exception):  # gone already; the cause is raised
                    conn.rollback()
                raise
        finally:
            pool.put_connection(conn)

    def _insert(self, cur: SQLiteCursor, write: Write) -> list[int]:
        ids = self._recorder._insert_events(cur, write.stored, inline_projection=write.hook)
        return list(ids or [])

    def _alone(self, conn: Any, cur: SQLiteCursor, write: Write) -> None:
        try:
            ids = self._insert(cur, write)
        except Exception as exc:
            conn.rollback()  # if this fails too, the transaction's failure is raised
            write.error = _own_error(exc)
            return
        conn.commit()
        write.ids = ids

    def _one(self, cur: SQLiteCursor, write: Write) -> None:
        """Insert one write under a savepoint; on its own failure, undo only it."""
        cur.execute("SAVEPOINT socieux_write")
        try:
            ids = self._insert(cur, write)
        except Exception as exc:
            # If the savepoint cannot be undone (the database rolled the whole
            # transaction back: disk full, I/O error), this raises: the group fails.
            cur.execute("ROLLBACK TO socieux_write")
            cur.execute("RELEASE socieux_write")
            write.error = _own_error(exc)
            return
        cur.execute("RELEASE socieux_write")
        write.ids = ids


def _own_error(exc: Exception) -> BaseException:
    """A write's own failure: a taken version is eventsourcing's ``IntegrityError``."""
    return ESIntegrityError(exc) if isinstance(exc, sqlite3.IntegrityError) else exc


class _Postgres:
    """A write alone goes through the recorder's own ``insert_events`` (exactly as without
    group commit: one round trip with an insert function). Two or more share one
    transaction on a pooled connection: the table lock and ``NOTIFY`` once, then each
    write's ``INSERT ... RETURNING notification_id`` (and its inline hook, if any) under a
    savepoint, one ``COMMIT``."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self._recorder = recorder

    def commit(self, take: Take) -> None:
        group = take()
        if len(group) != 1:
            self._together(group)
            return
        write = group[0]
        kwargs = {} if write.hook is None else {"inline_projection": write.hook}
        try:
            ids = self._recorder.insert_events(write.stored, **kwargs)
        except Exception as exc:  # its own failure, as it would have been alone
            write.error = exc
            return
        write.ids = list(ids or [])

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as eventsourcing
    def _together(self, group: list[Write]) -> None:
        rec = self._recorder
        for write in group:  # a retried transaction starts every write afresh
            write.ids = write.error = None
        with rec.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            rec._lock_table(curs)
            rec._notify_channel(curs)
            for write in group:
                self._one(conn, curs, write)

    def _one(self, conn: Any, curs: Any, write: Write) -> None:
        import psycopg

        from engine.persistence.sql import _PgCursor  # the ``?`` placeholders of hooks

        rec = self._recorder
        rows = [
            rec.construct_pg_stored_event(s.originator_id, s.originator_version, s.topic, s.state)
            for s in write.stored
        ]
        try:
            with conn.transaction():  # a savepoint
                curs.execute(rec.insert_events_statement, (rows,))
                ids = [int(r["notification_id"]) for r in curs.fetchall()]
                if write.hook is not None:
                    write.hook(_PgCursor(curs), ids)
        except psycopg.errors.UniqueViolation as exc:
            write.error = ESIntegrityError(str(exc))
            return
        write.ids = ids


def _group_error(exc: BaseException) -> BaseException:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    error = GroupWriteFailed(f"the group's write transaction failed: {detail}")
    error.__cause__ = exc
    return error

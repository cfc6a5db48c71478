# long module: the three projection modes and their wake-ups share one runner's positions
"""Runs projections: inline in the command's transaction, by catch-up, or as a worker.

Positions live in ``socieux_projection_positions`` (one row per projection) and are
updated in the same transaction as the projection's tables, so processing is exactly
once and resumable after a crash.

* ``catchup`` (default, every backend): before each query (and when the engine opens)
  the runner applies whatever the projections have not seen, in large batches, one
  transaction per batch. Commands pay nothing; reads still see every write, from any
  process. On PostgreSQL the positions row is locked so concurrent catch-ups never
  apply an event twice; on SQLite ``BEGIN IMMEDIATE`` does the same.
* ``inline`` (SQLite): the recorder calls :meth:`ProjectionRunner.inline_hook` with the
  command's own cursor after inserting the events, so one fsync covers the events, the
  view rows and the positions, and the tables on disk are never behind. It costs about
  13 more WAL pages per commit (docs/benchmarks.md). If another writer left the
  projections behind, the hook first catches up inside the same write-locked transaction.
* ``worker``: a separate process (``socieux projections run``) catches up; use
  :meth:`wait_for` for read-your-writes.

A rebuild replays the log with :meth:`Projection.replay` (a read model may leave out what
it can derive from its own tables at the end, such as a text index) and ends with
:meth:`Projection.finish_replay`, the indexes and the planner's statistics, in one
transaction. A row in ``socieux_projection_replays`` marks each projection whose replay
is not finished; it is written with the dropped tables and deleted with the finishing
transaction, so a rebuild cut short (a crash, a kill) is seen by the next engine that
opens: its catch-up goes on replaying from the stored position and finishes it.

On PostgreSQL the worker loop sleeps until a commit notifies the store's events channel,
and :meth:`wait_for` until a catch-up notifies the positions channel (each catch-up batch
sends its new position in its own transaction); both still re-read every
``fallback_poll`` seconds, and poll as before while the listener is down
(:mod:`engine.persistence.notify`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import cast
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic
from pydantic import BaseModel, ConfigDict

from engine.errors import EngineError
from engine.instance.aggregate import WorkflowInstance
from engine.logs import get_logger
from engine.persistence.notify import wakeups_of
from engine.persistence.sql import Cursor, SqlStore
from engine.persistence.store import EngineApplication, UpcastingMapper
from engine.projection.parking import Parking
from engine.projection.protocol import ProjectedEvent, Projection

__all__ = [
    "POSITIONS_TABLE",
    "REPLAYS_TABLE",
    "ProjectionLag",
    "ProjectionRunner",
    "ProjectionStatus",
]

POSITIONS_TABLE = "socieux_projection_positions"
REPLAYS_TABLE = "socieux_projection_replays"
"""One row per projection whose rebuild has not finished (see the module's docstring)."""
_log = get_logger("socieux.projections")


class ProjectionLag(EngineError, TimeoutError):
    """Projections did not reach the wanted position in time."""

    code = "projection_lag"


class ProjectionStatus(BaseModel):
    """Where a projection stands against the head of the log."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    position: int
    head: int
    behind: bool
    parked: int = 0
    """Events this projection could not apply (see :mod:`engine.projection.parking`)."""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch of a catch-up.

    Decoding thousands of events allocates enough containers to start collection after
    collection, each walking every live object: about half of a rebuild's time. Reference
    counting still frees the batch as it goes; cycles wait until the collector is back.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _FastDecoder:
    """Stored notifications to :class:`ProjectedEvent` straight from the decoded body.

    The same result as :meth:`ProjectedEvent.from_notification` (eventsourcing's mapper
    builds the event object from that very body), without building the event object and
    its UUID. Only for the engine's own mapper without a cipher or compressor; an event
    the engine's upcasters would change, or any surprise, takes the mapper's path.
    """

    def __init__(self, mapper: UpcastingMapper) -> None:
        self._mapper = mapper
        self._decode = mapper.transcoder.decode
        self._current = mapper.upcasters.current
        self._topics: dict[str, str] = {}

    @staticmethod
    def of(mapper: object) -> _FastDecoder | None:
        """A decoder for ``mapper``, or ``None`` when it must decode by itself."""
        if type(mapper) is not UpcastingMapper or mapper.cipher or mapper.compressor:
            return None
        return _FastDecoder(mapper)

    def _topic(self, stored: str) -> str:
        topic = self._topics.get(stored)
        if topic is None:
            topic = self._topics[stored] = resolve_topic(stored).TOPIC
        return topic

    def decode(self, notifications: Sequence[Notification]) -> list[ProjectedEvent]:
        """Decode ``notifications`` (in order)."""
        out: list[ProjectedEvent] = []
        ids: dict[UUID | str, str] = {}
        for n in notifications:
            try:
                state = self._decode(n.state)
                current = self._current.get(n.topic)
                if current is not None and state.get("event_version", 1) != current:
                    raise LookupError("upcast")  # the mapper's path upcasts
                iid = ids.get(n.originator_id)
                if iid is None:
                    iid = ids[n.originator_id] = str(n.originator_id)
                out.append(
                    ProjectedEvent.from_state(
                        n.id, iid, n.originator_version, self._topic(n.topic), state
                    )
                )
            except Exception:  # the mapper's path decides (and raises its own errors)
                out.append(ProjectedEvent.from_notification(n, self._mapper))
        return out


class ProjectionRunner:
    """Applies registered projections to the event log of one engine."""

    def __init__(
        self, app: EngineApplication, sql: SqlStore, projections: Sequence[Projection]
    ) -> None:
        self._app = app
        self._sql = sql
        self.projections = list(projections)
        self._topics = {t for p in self.projections for t in p.topics}
        self._pos = sql.table(POSITIONS_TABLE)
        self._replays = sql.table(REPLAYS_TABLE)
        self._replaying: set[str] = set()
        """Projections whose replay was unfinished when last looked at (a hint: each batch
        reads the marks again in its transaction)."""
        self.parking = Parking(sql)
        self._wakeups = wakeups_of(app)
        self._moved = (
            self._wakeups.channels["positions"]
            if self._wakeups.enabled and sql.dialect == "postgres"
            else None
        )
        self.hidden: frozenset[str] = frozenset()
        """Definition hashes whose events no projection sees (the engine's own workflows)."""

    # ------------------------------------------------------------------ setup
    def setup(self) -> list[str]:
        """Create tables; rebuild-from-zero any projection whose version changed."""
        reset: list[str] = []
        with self._sql.write() as cur:
            self.parking.create(cur)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._pos} (name TEXT PRIMARY KEY, "
                "position BIGINT NOT NULL, version INTEGER NOT NULL)"
            )
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self._replays} (name TEXT PRIMARY KEY)")
            cur.execute(f"SELECT name, version FROM {self._pos}")
            stored = {row["name"]: row["version"] for row in cur.fetchall()}
            replaying = self._marked(cur)
            for p in self.projections:
                if stored.get(p.name) == p.version:
                    p.create(cur)
                    if p.name in replaying:  # a rebuild cut short: catch-up finishes it
                        self._replaying.add(p.name)
                    else:
                        p.create_indexes(cur)
                    continue
                if p.name in stored:
                    p.drop(cur)
                    reset.append(p.name)
                cur.execute(f"DELETE FROM {self._replays} WHERE name = ?", (p.name,))
                p.create(cur)
                p.create_indexes(cur)
                cur.execute(f"DELETE FROM {self._pos} WHERE name = ?", (p.name,))
                cur.execute(
                    f"INSERT INTO {self._pos} (name, position, version) VALUES (?, 0, ?)",
                    (p.name, p.version),
                )
        return reset

    # ------------------------------------------------------------------ replays
    def _marked(self, cur: Cursor) -> set[str]:
        """The names of this runner's projections whose replay is not finished."""
        cur.execute(f"SELECT name FROM {self._replays}")
        names = {p.name for p in self.projections}
        return {str(row["name"]) for row in cur.fetchall()} & names

    def _finish(self) -> None:
        """Finish the replays still marked: derived data, indexes, statistics, in one
        transaction with the removal of their marks."""
        with self._sql.write() as cur:
            self._positions(cur, lock=True)  # as a batch does: one finisher at a time
            marked = self._marked(cur)  # read after the lock: another may have finished
            for p in self.projections:
                if p.name not in marked:
                    continue
                p.finish_replay(cur)
                p.create_indexes(cur)
                for table in p.tables:  # the planner's statistics, for the filled tables
                    cur.execute(f"ANALYZE {p.t(table)}")
                cur.execute(f"DELETE FROM {self._replays} WHERE name = ?", (p.name,))
        self._replaying.clear()

    # ------------------------------------------------------------------ positions
    def _positions(self, cur: Cursor, *, lock: bool = False) -> dict[str, int]:
        suffix = " FOR UPDATE" if lock and self._sql.dialect == "postgres" else ""
        cur.execute(f"SELECT name, position FROM {self._pos}{suffix}")
        rows = {row["name"]: int(row["position"]) for row in cur.fetchall()}
        return {p.name: rows.get(p.name, 0) for p in self.projections}

    def _advance(self, cur: Cursor, position: int) -> None:
        cur.execute(f"UPDATE {self._pos} SET position = ? WHERE position < ?", (position, position))
        if self._moved is not None:  # delivered at commit: wakes wait_for in any process
            cur.execute("SELECT pg_notify(?, ?)", (self._moved, str(position)))

    def head(self) -> int:
        """The highest notification id in the log (0 when empty)."""
        return int(self._app.recorder.max_notification_id() or 0)

    def status(self) -> list[ProjectionStatus]:
        """Each projection's position against the head of the log."""
        head = self.head()
        with self._sql.read() as cur:
            positions = self._positions(cur)
            parked = self.parking.counts(cur)
        return [
            ProjectionStatus(
                name=p.name,
                version=p.version,
                position=positions[p.name],
                head=head,
                behind=positions[p.name] < head,
                parked=parked.get(p.name, 0),
            )
            for p in self.projections
        ]

    # ------------------------------------------------------------------ applying
    def _apply(self, cur: Cursor, events: Sequence[ProjectedEvent], pos: dict[str, int]) -> None:
        if self.hidden:
            events = [e for e in events if e.definition_hash not in self.hidden]
        replaying = self._marked(cur) if self._replaying else set()
        for p in self.projections:
            mine = [e for e in events if e.position > pos[p.name] and e.topic in p.topics]
            if mine:
                self.parking.apply(cur, p, mine, replay=p.name in replaying)

    def _decode(self, notifications: Sequence[Notification]) -> list[ProjectedEvent]:
        mapper = self._app.mapper
        fast = _FastDecoder.of(mapper)
        if fast is None:
            return [
                ProjectedEvent.from_notification(n, mapper)
                for n in notifications
                if n.topic in self._topics
            ]
        return fast.decode([n for n in notifications if n.topic in self._topics])

    def catch_up(self, *, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
        """Apply everything not yet applied, one transaction per batch; returns the count.

        Each batch is read from the log first and applied after, in a transaction of its
        own: no connection is ever held while another is asked for (with a shared pool,
        that is how threads deadlock). Positions are re-read and locked in the write
        transaction, so a batch another thread or process applied meanwhile is skipped.
        """
        if not self.projections:
            return 0
        done = 0
        while True:
            with self._sql.read() as cur:
                start = min(self._positions(cur).values())
            with _collector_paused():
                page = self._app.recorder.select_notifications(
                    start, batch, inclusive_of_start=False
                )
                if not page:
                    if self._replaying:
                        self._finish()
                    return done
                events = self._decode(page)
                with self._sql.write() as cur:
                    pos = self._positions(cur, lock=True)
                    self._apply(cur, events, pos)
                    self._advance(cur, page[-1].id)
            done += len(page)
            if progress is not None:
                progress(len(page))

    def inline_hook(
        self, events: Sequence[WorkflowInstance.Event]
    ) -> Callable[[Cursor, Sequence[int]], None]:
        """A callback for the SQLite recorder: project ``events`` with the command's cursor."""

        def hook(cur: Cursor, ids: Sequence[int]) -> None:
            pos = self._positions(cur)
            if min(pos.values()) < ids[0] - 1:
                self._catch_up_in_transaction(cur, ids[0] - 1, pos)
                pos = self._positions(cur)
            projected = [ProjectedEvent.from_domain(i, e) for i, e in zip(ids, events, strict=True)]
            self._apply(cur, projected, pos)
            self._advance(cur, ids[-1])

        return hook

    def _catch_up_in_transaction(self, cur: Cursor, until: int, pos: dict[str, int]) -> None:
        recorder = cast("SQLiteApplicationRecorder", self._app.recorder)  # inline: SQLite only
        cur.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {recorder.events_table_name} WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
            (min(pos.values()), until),
        )
        notifications = [
            Notification(
                id=row["rowid"],
                originator_id=recorder.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in cur.fetchall()
        ]
        _log.info("inline_catch_up", events=len(notifications))
        self._apply(cur, self._decode(notifications), pos)

    # ------------------------------------------------------------------ maintenance
    def rebuild(
        self,
        names: Sequence[str] | None = None,
        *,
        batch: int = 5000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Drop and recreate the named projections (default all), then replay the log;
        what they derive at the end and their indexes are built once, after the replay (a
        rebuild cut short is marked: the next catch-up, in any process, goes on and
        finishes it)."""
        chosen = [p for p in self.projections if names is None or p.name in names]
        with self._sql.write() as cur:
            for p in chosen:
                p.drop(cur)
                p.create(cur)
                cur.execute(f"UPDATE {self._pos} SET position = 0 WHERE name = ?", (p.name,))
                cur.execute(f"DELETE FROM {self._replays} WHERE name = ?", (p.name,))
                cur.execute(f"INSERT INTO {self._replays} (name) VALUES (?)", (p.name,))
            self.parking.clear(cur, [p.name for p in chosen])
        self._replaying.update(p.name for p in chosen)
        return self.catch_up(batch=batch, progress=progress)

    def _lowest(self, position: int) -> int:
        with self._sql.read() as cur:
            return min(self._positions(cur).values(), default=position)

    def wait_for(self, position: int, *, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Block until every projection has applied ``position`` (``ProjectionLag`` if not)."""
        deadline = time.monotonic() + timeout
        if self._lowest(position) >= position:
            return
        with self._wakeups.event("positions") as moved:
            while True:
                moved.clear()
                lowest = self._lowest(position)
                if lowest >= position:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    msg = f"projections are at {lowest}, not {position}, after {timeout}s"
                    raise ProjectionLag(msg, position=position, reached=lowest)
                moved.wait(min(left, self._wakeups.poll(poll)))

    def run_forever(self, *, poll: float = 0.2, stop: Callable[[], bool] = lambda: False) -> None:
        """The worker loop: catch up, then wait for new events until ``stop()``.

        ``stop`` is asked every ``poll`` seconds; the log is read again when a commit
        notifies (PostgreSQL), else every ``poll`` seconds (every ``fallback_poll`` seconds
        while the listener is up).
        """
        with self._wakeups.event("events") as woken:
            while not stop():
                woken.clear()
                if self.catch_up() != 0:
                    continue
                until = time.monotonic() + self._wakeups.poll(poll)
                while not woken.wait(min(poll, max(0.0, until - time.monotonic()))):
                    if stop() or time.monotonic() >= until:
                        break

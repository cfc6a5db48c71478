"""The event store: the eventsourcing application, our SQLite factory and recorder (durability
level, inline projections), the read-model store for a URL, and driver-error translation.
"""

# long module: the application, its recorder, pool and mapper (with the fast encoder that
# must store eventsourcing's exact bytes) configure one event store together.

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    PersistenceError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.persistence import IntegrityError as ESIntegrityError
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, get_topic

from engine.errors import EngineError, InstanceNotFound, IntegrityViolation, StorageUnavailable
from engine.instance.aggregate import WorkflowInstance
from engine.instance.upcasting import EventUpcasters, UpcastError, default_upcasters
from engine.logs import get_logger
from engine.persistence.group import GroupCommit, group_commit_for
from engine.persistence.sql import (
    Cursor,
    PooledSQLiteStore,
    PostgresStore,
    SQLiteStore,
    SqlStore,
)
from engine.persistence.urls import StoreConfig

__all__ = [
    "SNAPSHOT_INTERVAL",
    "EngineApplication",
    "InlineHook",
    "is_write_conflict",
    "sql_store",
    "translate_errors",
]

_log = get_logger("socieux.store")
SNAPSHOT_INTERVAL = 50
"""A snapshot every 50 events: a typical request (10-20 events) never pays for one,
while a 1,000-event instance loads from a snapshot plus at most 49 events."""

InlineHook = Callable[[Cursor, Sequence[int]], None]
"""Called by the SQLite recorder inside the insert transaction, with its cursor and the new
events' notification ids (inline projections)."""


class _DurablePool(SQLiteConnectionPool):
    """Sets ``PRAGMA synchronous`` on every new connection (FULL by default)."""

    synchronous: ClassVar[str] = "FULL"

    def _create_connection(self) -> SQLiteConnection:
        if "mode=ro" in self.db_name:
            # Never switch a read-only file to WAL: that is a write ("attempt to write a
            # readonly database"), and a WAL file is read as it is.
            self.is_journal_mode_wal = True
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


class UpcastingMapper(Mapper[UUID]):
    """eventsourcing's mapper, then the engine's event upcasters on the decoded copy (the
    stored event is never changed). eventsourcing's own ``class_version`` is not used: it
    would be written outside the hashed body."""

    def __init__(self, transcoder: Transcoder, **kwargs: Any) -> None:
        super().__init__(transcoder, **kwargs)
        self.upcasters: EventUpcasters = default_upcasters()
        plain = self.compressor is None and self.cipher is None
        self._encode = _c_encoder(transcoder) if plain else None
        times = getattr(transcoder, "types", {}).get(datetime)
        self._times = times.name if type(times) is DatetimeAsISO else None
        """The name the transcoder gives ``datetime`` values when it is eventsourcing's
        ISO transcoding: the event's time is then transcoded here, as the encoder's
        fallback would (``{"_type_": name, "_data_": isoformat}``), without its calls."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """What eventsourcing's mapper stores, byte for byte (the same JSON encoder, its
        C part built once instead of on every event, and no check for circular
        references: a cycle falls back to eventsourcing's own encoding and its error)."""
        if self._encode is None:
            return super().to_stored_event(domain_event)
        kind = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(kind, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        at = state.get("timestamp")
        if self._times is not None and type(at) is datetime:
            state["timestamp"] = {"_type_": self._times, "_data_": at.isoformat()}
        try:
            text = "".join(self._encode(state, 0))
        except RecursionError:
            return super().to_stored_event(domain_event)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(kind),
            state=text.encode("utf8"),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """Decode ``stored_event`` and bring it to its topic's current shape."""
        event = super().to_domain_event(stored_event)
        state: dict[str, Any] = event.__dict__
        current = self.upcasters.current.get(stored_event.topic)
        if current is not None and state.get("event_version", 1) != current:
            try:
                object.__setattr__(
                    event, "__dict__", self.upcasters.upcast(stored_event.topic, state)
                )
            except UpcastError as exc:
                where = f"{stored_event.originator_id} v{stored_event.originator_version}"
                raise IntegrityViolation(
                    f"event {where} cannot be read: {exc}",
                    instance_id=str(stored_event.originator_id),
                    version=stored_event.originator_version,
                ) from None
        return event


def _c_encoder(transcoder: Transcoder) -> Any:
    """The C encoder eventsourcing's ``JSONTranscoder.encode`` builds on each call, built
    once without the circular check (``None`` for another transcoder, or without ``_json``)."""
    if type(transcoder).encode is not JSONTranscoder.encode or c_make_encoder is None:
        return None
    enc = transcoder.encoder  # type: ignore[attr-defined]
    if enc.indent is not None:
        return None
    strings = encode_basestring_ascii if enc.ensure_ascii else encode_basestring
    return c_make_encoder(
        None, enc.default, strings, None, enc.key_separator, enc.item_separator,
        enc.sort_keys, enc.skipkeys, enc.allow_nan,
    )  # fmt: skip


class EngineApplication(Application[UUID]):
    """The eventsourcing application behind the façade (configured only by its URL)."""

    name = "socieux"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {WorkflowInstance: SNAPSHOT_INTERVAL}

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        self.group: GroupCommit | None = group_commit_for(self.recorder)
        """Group commit on SQLite and PostgreSQL (:mod:`engine.persistence.group`);
        ``None`` in memory, where writes go straight to the event store."""

    def record(
        self, events: Sequence[DomainEventProtocol[UUID]], inline: InlineHook | None = None
    ) -> list[int]:
        """Store ``events`` durably in one write (with ``inline`` run inside its
        transaction); their notification ids. On SQLite and PostgreSQL the write joins
        the next group commit; eventsourcing's ``IntegrityError`` when another writer
        took a version."""
        if self.group is not None:
            return self.group.record([self.mapper.to_stored_event(e) for e in events], inline)
        kwargs = {} if inline is None else {"inline_projection": inline}
        # The event store directly: Application.save adds protocol checks (~30 µs) and
        # re-reads the store to snapshot; the command service snapshots from memory.
        return [r.notification.id for r in self.events.put(events, **kwargs)]

    def construct_mapper(self) -> Mapper[UUID]:
        """The upcasting mapper (:mod:`engine.instance.upcasting`)."""
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=UpcastingMapper
        )

    @property
    def upcasters(self) -> EventUpcasters:
        """The event upcasters this store reads with (a test may register more)."""
        mapper = self.mapper
        assert isinstance(mapper, UpcastingMapper)
        return mapper.upcasters

    def instance(self, iid: UUID, version: int | None = None) -> WorkflowInstance:
        """The instance ``iid`` (at ``version``), or ``InstanceNotFound``.

        A snapshot is used only once checked against the stored event at its version (the
        same last hash and time); a stale, misplaced or altered one is skipped and the
        instance is replayed from its events.
        """
        agg = self.trusted_snapshot(iid, lte=version)
        gt = agg.version if agg is not None else None
        for event in self.instance_events(iid, gt=gt, lte=version):
            agg = event.mutate(agg)
        if agg is None:
            raise InstanceNotFound(str(iid))
        if not isinstance(agg, WorkflowInstance):
            raise InstanceNotFound(str(iid), "not a workflow instance")
        return agg

    def trusted_snapshot(
        self, iid: UUID, *, lte: int | None = None, modified_by: datetime | None = None
    ) -> WorkflowInstance | None:
        """The latest snapshot of ``iid`` (at or below version ``lte``, taken no later than
        ``modified_by``) that agrees with the stored event at its version, as an aggregate."""
        if self.snapshots is None:
            return None
        for snap in self.snapshots.get(iid, desc=True, lte=lte):
            state = snap.state  # type: ignore[attr-defined]
            if modified_by is not None and state["_modified_on"] > modified_by:
                continue
            if self._snapshot_agrees(iid, snap.originator_version, state):
                return snap.mutate(None)  # type: ignore[attr-defined,no-any-return]
            _log.warning("snapshot_skipped", instance_id=str(iid), version=snap.originator_version)
        return None

    def _snapshot_agrees(self, iid: UUID, version: int, state: dict[str, Any]) -> bool:
        events = list(self.instance_events(iid, gt=version - 1, lte=version))
        return (
            len(events) == 1
            and state.get("last_hash") == events[0].hash
            and state.get("_modified_on") == events[0].timestamp
        )

    def instance_events(
        self, iid: UUID, *, gt: int | None = None, lte: int | None = None
    ) -> Iterator[WorkflowInstance.Event]:
        """The instance's events after version ``gt`` (and up to ``lte``), decoded lazily."""
        return iter(self.events.get(iid, gt=gt, lte=lte))  # type: ignore[arg-type]

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """Use only the settings derived from the URL, never the process environment."""
        return Environment(name, {"IS_SNAPSHOTTING_ENABLED": "y", **dict(env or {})})


def sql_store(config: StoreConfig, app: EngineApplication) -> SqlStore:
    """The store for read models, seals and hooks: the same database as the events, on the
    event store's own connections (SQLite file, PostgreSQL); in-memory SQLite for memory."""
    datastore = getattr(app.recorder, "datastore", None)
    if config.kind == "sqlite" and isinstance(datastore, SQLiteDatastore):
        return PooledSQLiteStore(datastore)
    if config.kind == "postgresql":
        from eventsourcing.postgres import PostgresDatastore

        if isinstance(datastore, PostgresDatastore):
            return PostgresStore(datastore)
    return SQLiteStore(":memory:", synchronous="OFF")


def is_write_conflict(exc: BaseException) -> bool:
    """True when two writers raced for the same aggregate version."""
    return isinstance(exc, ESIntegrityError)


def _is_driver_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return isinstance(exc, PersistenceError | sqlite3.Error | OSError) or module.startswith(
        ("psycopg", "psycopg_pool", "sqlite3")
    )


class translate_errors:  # noqa: N801 - used as the function it replaced: ``with translate_errors(...)``
    """Turn driver and persistence errors into ``StorageUnavailable`` (engine errors pass).

    A class rather than a ``@contextmanager`` generator: it is entered on every command,
    and a plain ``__enter__``/``__exit__`` costs a fraction of the generator's machinery."""

    __slots__ = ("label", "what")

    def __init__(self, what: str, label: str) -> None:
        self.what = what
        self.label = label

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        # Returns None (never suppresses): the error passes, or its translation is raised.
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, EngineError):
            return
        if is_write_conflict(exc) or not _is_driver_error(exc):
            return
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageUnavailable(
            f"{self.what} failed on {self.label}: {detail}", backend=self.label,
            operation=self.what,
        ) from exc  # fmt: skip

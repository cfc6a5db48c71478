"""The projection protocol: read models built from the event log.

A projection names the event topics it reads, creates its tables in the same database
as the events, and applies batches of events with a cursor the runner gives it. The
runner stores each projection's position in the same transaction as its table updates,
so every event is applied exactly once, and a projection can be rebuilt from zero.
Concrete read models live in the ``projections`` package and plug in through the
``socieux.projections`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from engine.instance.aggregate import (
    ESCALATED_TOPIC,
    MIGRATED_TOPIC,
    STARTED_TOPIC,
    TRANSITIONED_TOPIC,
    WorkflowInstance,
)
from engine.persistence.sql import Cursor, SqlStore

__all__ = [
    "ALL_TOPICS",
    "ENTRY_POINT_GROUP",
    "ProjectedEvent",
    "Projection",
    "ProjectionContext",
    "load_projection_entry_points",
]

ENTRY_POINT_GROUP = "socieux.projections"
ALL_TOPICS = (STARTED_TOPIC, TRANSITIONED_TOPIC, MIGRATED_TOPIC, ESCALATED_TOPIC)
"""Every topic of the instance's events (``Escalated`` records a due escalation or reminder;
it does not move the instance, so projections of states may leave it out)."""


@dataclass(frozen=True, slots=True)
class ProjectedEvent:
    """One recorded event as projections see it (plain data, times in UTC)."""

    position: int
    instance_id: str
    version: int
    topic: str
    at: datetime
    trigger: str
    source: str | None
    dest: str
    payload: dict[str, Any]
    audit: dict[str, Any]
    definition_hash: str
    collect_as: str | None
    workflow: str | None
    deadlines: dict[str, Any] | None = None
    """The deadlines the event cancels and schedules (``cancel``, ``schedule``), if any."""
    deadline: dict[str, Any] | None = None
    """The due deadline the system actor recorded this event for (id, due_at, ...), if any."""

    @property
    def notification_id(self) -> int:
        """The event's notification id: unique in the store and increasing (an
        idempotency key for hooks)."""
        return self.position

    @classmethod
    def from_notification(cls, notification: Notification, mapper: Mapper[UUID]) -> ProjectedEvent:
        """Decode a stored notification with the application's ``mapper``."""
        event = mapper.to_domain_event(notification)
        return cls.from_domain(notification.id, cast("WorkflowInstance.Event", event))

    @classmethod
    def from_state(
        cls, position: int, instance_id: str, version: int, topic: str, state: dict[str, Any]
    ) -> ProjectedEvent:
        """Build from a decoded event body (what :meth:`from_domain` reads of an event
        whose attributes are that body): the replay path, without the event object."""
        return cls(
            position=position,
            instance_id=instance_id,
            version=version,
            topic=topic,
            at=state["timestamp"],
            trigger=state["trigger"],
            source=state["source"],
            dest=state["dest"],
            payload=state["payload"],
            audit=state["audit"],
            definition_hash=state["definition_hash"],
            collect_as=state["collect_as"],
            workflow=state.get("workflow"),
            deadlines=state.get("deadlines"),
            deadline=state.get("deadline"),
        )

    @classmethod
    def from_domain(cls, position: int, event: WorkflowInstance.Event) -> ProjectedEvent:
        """Build from a decoded domain event and its notification id."""
        return cls(
            position=position,
            instance_id=str(event.originator_id),
            version=event.originator_version,
            topic=type(event).TOPIC,  # type: ignore[attr-defined]
            at=event.timestamp,
            trigger=event.trigger,
            source=event.source,
            dest=event.dest,
            payload=event.payload,
            audit=event.audit,
            definition_hash=event.definition_hash,
            collect_as=event.collect_as,
            workflow=getattr(event, "workflow", None),
            deadlines=vars(event).get("deadlines"),
            deadline=vars(event).get("deadline"),
        )


@dataclass(frozen=True)
class ProjectionContext:
    """What a projection may consult besides its events: definitions and the clock."""

    sla_days: Callable[[str, str], int | None]
    """``(definition_hash, state) -> sla_days`` (``None`` when the state has no SLA)."""
    settings: Callable[[str], dict[str, Any]]
    """``definition_hash -> settings`` of that definition version."""
    final_states: Callable[[str], frozenset[str]]
    """``definition_hash -> final states`` of that definition version."""
    now: Callable[[], datetime]
    refresh: Callable[[], None]
    """Bring read models up to date before a query (a no-op where they are inline)."""


class Projection:
    """Base class of read models. Subclasses set ``name`` and implement the hooks."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    """Bump when the tables change: a stored older version triggers a rebuild."""
    topics: ClassVar[tuple[str, ...]] = (STARTED_TOPIC, TRANSITIONED_TOPIC, MIGRATED_TOPIC)
    tables: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._sql: SqlStore | None = None
        self._ctx: ProjectionContext | None = None

    def attach(self, sql: SqlStore, ctx: ProjectionContext) -> None:
        """Bind to the store and context (done by the engine when it opens)."""
        self._sql = sql
        self._ctx = ctx

    @property
    def sql(self) -> SqlStore:
        """The attached store."""
        if self._sql is None:
            msg = f"projection {self.name!r} is not attached to an engine"
            raise RuntimeError(msg)
        return self._sql

    @property
    def ctx(self) -> ProjectionContext:
        """The attached context."""
        if self._ctx is None:
            msg = f"projection {self.name!r} is not attached to an engine"
            raise RuntimeError(msg)
        return self._ctx

    def t(self, name: str) -> str:
        """The qualified name of one of this projection's tables."""
        return self.sql.table(name)

    def create(self, cur: Cursor) -> None:
        """Create tables and indexes (``IF NOT EXISTS``)."""
        raise NotImplementedError

    def indexes(self) -> Sequence[str]:
        """``CREATE INDEX IF NOT EXISTS`` statements for the tables (none by default).

        The runner runs them after :meth:`create`; a rebuild runs them once, after
        replaying the log: building an index once is cheaper than keeping it up through
        every batch. A unique index that guards the data belongs in :meth:`create`.
        """
        return ()

    def create_indexes(self, cur: Cursor) -> None:
        """Run :meth:`indexes`."""
        for statement in self.indexes():
            cur.execute(statement)

    def drop(self, cur: Cursor) -> None:
        """Drop this projection's tables."""
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {self.t(table)}")

    def apply(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Apply a batch of events (in log order) with ``cur``."""
        raise NotImplementedError

    def replay(self, cur: Cursor, events: Sequence[ProjectedEvent]) -> None:
        """Apply a batch during a rebuild (default: :meth:`apply`). A read model may leave
        out here what :meth:`finish_replay` derives from its tables once, at the end (queries
        see partial tables until a rebuild is finished anyway)."""
        self.apply(cur, events)

    def finish_replay(self, cur: Cursor) -> None:
        """End a rebuild's replay (before the indexes are built), in the transaction that
        marks the rebuild finished: derive what :meth:`replay` left out (default: nothing)."""

    def fresh(self) -> SqlStore:
        """Refresh (catch up) and return the store, for query methods."""
        self.ctx.refresh()
        return self.sql


def load_projection_entry_points(group: str = ENTRY_POINT_GROUP) -> list[Projection]:
    """Instantiate every projection installed under the entry-point ``group``."""
    found: list[Projection] = []
    for ep in entry_points(group=group):
        obj = ep.load()
        items: Iterable[Any] = obj() if callable(obj) and not isinstance(obj, type) else [obj]
        for item in items:
            found.append(item() if isinstance(item, type) else item)
    return found

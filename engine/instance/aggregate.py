"""The workflow instance aggregate and its events.

State changes only by applying events. ``apply`` assigns the state, merges (or collects)
the payload into ``data`` and remembers who fired what; it never runs guards, never
calls the state machine and never reads the clock, so live execution and replay run the
same code. Apply is copy-on-write (new dicts and lists, never in-place updates), which
lets the façade keep cached instances and hand out shallow copies safely.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from engine.instance.hashing import event_hash
from engine.instance.upcasting import ADDED_BY_UPCAST, CURRENT_VERSIONS, MIGRATED

__all__ = [
    "HASH_FORMAT",
    "MIGRATED_TOPIC",
    "MIGRATE_TRIGGER",
    "STARTED_TOPIC",
    "TRANSITIONED_TOPIC",
    "WorkflowInstance",
    "recompute_hash",
]

STARTED_TOPIC = "socieux.instance:Started"
TRANSITIONED_TOPIC = "socieux.instance:Transitioned"
MIGRATED_TOPIC = MIGRATED
SNAPSHOT_TOPIC = "socieux.instance:Snapshot"
MIGRATE_TRIGGER = "__migrate__"
"""The trigger a ``Migrated`` event records (no definition can name it: triggers start
with a letter)."""
HASH_FORMAT = 2
"""The hash format of every event written now (RFC 8785, :mod:`engine.instance.hashing`)."""


class WorkflowInstance(Aggregate):
    """One workflow instance (one request for assistance, say)."""

    TOPIC: ClassVar[str] = "socieux.instance:WorkflowInstance"

    class Event(Aggregate.Event):
        """Base of the instance's events: the fields of the audit chain."""

        trigger: str
        source: str | None
        dest: str
        payload: dict[str, Any]
        definition_hash: str
        audit: dict[str, Any]
        collect_as: str | None
        prev_hash: str
        hash: str
        hash_format: int
        event_version: int

        def apply(self, aggregate: Any) -> None:
            """Assign the state, merge the payload, remember the actor."""
            agg: WorkflowInstance = aggregate
            if agg.state != self.dest or self.source is None:
                agg.state = self.dest
                agg.state_entered_at = self.timestamp
            if self.collect_as:
                collected = [*agg.data.get(self.collect_as, ()), self.payload]
                agg.data = {**agg.data, self.collect_as: collected}
            else:
                agg.data = {**agg.data, **self.payload}
            actor_id = str(self.audit["actor_id"])
            agg.fired_by = _with_member(agg.fired_by, self.trigger, actor_id)
            agg.acted_as = _with_member(agg.acted_as, str(self.audit["role"]), actor_id)
            agg.last_hash = self.hash

    class Started(Event, Aggregate.Created):
        """The instance was created by a start transition."""

        TOPIC: ClassVar[str] = STARTED_TOPIC
        class_version: ClassVar[int] = 1
        workflow: str
        definition_version: int

        def apply(self, aggregate: Any) -> None:
            """Record the workflow, then apply the step like any other."""
            aggregate.workflow = self.workflow
            aggregate.definition_version = self.definition_version
            aggregate.definition_hash = self.definition_hash
            super().apply(aggregate)

    class Transitioned(Event):
        """A trigger fired: the instance moved (or, if internal, recorded a fact)."""

        TOPIC: ClassVar[str] = TRANSITIONED_TOPIC
        class_version: ClassVar[int] = 1

    class Migrated(Event):
        """The instance moved to another version of its workflow (``migration`` says from
        and to, the state map, the data upcaster, the plan); ``payload`` holds the data
        keys the upcaster set, ``migration["removed"]`` those it dropped."""

        TOPIC: ClassVar[str] = MIGRATED_TOPIC
        class_version: ClassVar[int] = 1
        migration: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            """Re-pin the definition, rewrite the data, then move like any step."""
            agg: WorkflowInstance = aggregate
            removed = set(self.migration.get("removed", ()))
            agg.data = {k: v for k, v in agg.data.items() if k not in removed}
            agg.definition_hash = self.definition_hash
            agg.definition_version = int(self.migration["to"]["version"])
            super().apply(aggregate)

    Created = Started  # the only creation event; keeps explicit topics complete

    class Snapshot(Aggregate.Snapshot):  # type: ignore[valid-type,misc]
        """A snapshot of the instance's state."""

        TOPIC: ClassVar[str] = SNAPSHOT_TOPIC

    def __init__(self) -> None:
        self.workflow = ""
        self.definition_version = 0
        self.definition_hash = ""
        self.state = ""
        self.state_entered_at: datetime | None = None
        self.data: dict[str, Any] = {}
        self.fired_by: dict[str, list[str]] = {}
        self.acted_as: dict[str, list[str]] = {}
        self.last_hash = ""

    @classmethod
    def start(
        cls,
        *,
        instance_id: UUID,
        at: datetime,
        workflow: str,
        definition_version: int,
        body: dict[str, Any],
    ) -> WorkflowInstance:
        """Create a new instance from a decided start step (``body`` has no hash yet)."""
        body = {
            **_stamped(body, STARTED_TOPIC),
            "workflow": workflow,
            "definition_version": definition_version,
            "originator_topic": cls.TOPIC,
        }
        digest = event_hash(
            topic=STARTED_TOPIC,
            originator_id=instance_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=at,
            body=body,
        )
        del body["originator_topic"]  # eventsourcing sets it (to the same value)
        return cls._create(cls.Started, id=instance_id, timestamp=at, hash=digest, **body)

    def step(self, *, at: datetime, body: dict[str, Any]) -> None:
        """Record a decided step (``body`` has no hash yet; it is chained here)."""
        self._record(self.Transitioned, at, body)

    def migrate(self, *, at: datetime, body: dict[str, Any]) -> None:
        """Record a planned migration to another definition (``body`` has no hash yet)."""
        self._record(self.Migrated, at, body)

    def _record(
        self, kind: type[WorkflowInstance.Event], at: datetime, body: dict[str, Any]
    ) -> None:
        topic: str = kind.TOPIC  # type: ignore[attr-defined]
        body = {**_stamped(body, topic), "prev_hash": self.last_hash}
        digest = event_hash(
            topic=topic,
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=at,
            body=body,
        )
        self.trigger_event(kind, timestamp=at, hash=digest, **body)


def _stamped(body: dict[str, Any], topic: str) -> dict[str, Any]:
    """The body with the hash format and the shape it is written in (both hashed)."""
    return {**body, "hash_format": HASH_FORMAT, "event_version": CURRENT_VERSIONS[topic]}


# eventsourcing registers an aggregate's explicit event topics when the class is defined,
# but not its snapshot class's (a snapshot does not mutate an aggregate): the topic would
# only be cached once this process *took* a snapshot, so a fresh process (a restart, a
# second writer, the CLI) could not read an instance with 50 or more events.
register_topic(SNAPSHOT_TOPIC, WorkflowInstance.Snapshot)

_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "hash"})


def recompute_hash(event: WorkflowInstance.Event) -> str:
    """Recompute ``event``'s hash from its stored fields (for verification)."""
    body = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    if body.get("hash_format", 1) == 1:  # upcast from shape 1: hash the stored fields only
        body = {k: v for k, v in body.items() if k not in ADDED_BY_UPCAST}
    return event_hash(
        topic=type(event).TOPIC,  # type: ignore[attr-defined]
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        timestamp=event.timestamp,
        body=body,
    )


def _with_member(index: dict[str, list[str]], key: str, member: str) -> dict[str, list[str]]:
    members = index.get(key, [])
    if member in members:
        return index
    return {**index, key: [*members, member]}

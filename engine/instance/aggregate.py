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

__all__ = ["STARTED_TOPIC", "TRANSITIONED_TOPIC", "WorkflowInstance", "recompute_hash"]

STARTED_TOPIC = "socieux.instance:Started"
TRANSITIONED_TOPIC = "socieux.instance:Transitioned"
SNAPSHOT_TOPIC = "socieux.instance:Snapshot"


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
            **body,
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
        body = {**body, "prev_hash": self.last_hash}
        digest = event_hash(
            topic=TRANSITIONED_TOPIC,
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=at,
            body=body,
        )
        self.trigger_event(self.Transitioned, timestamp=at, hash=digest, **body)


# eventsourcing registers an aggregate's explicit event topics when the class is defined,
# but not its snapshot class's (a snapshot does not mutate an aggregate): the topic would
# only be cached once this process *took* a snapshot, so a fresh process (a restart, a
# second writer, the CLI) could not read an instance with 50 or more events.
register_topic(SNAPSHOT_TOPIC, WorkflowInstance.Snapshot)

_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "hash"})


def recompute_hash(event: WorkflowInstance.Event) -> str:
    """Recompute ``event``'s hash from its stored fields (for verification)."""
    body = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
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

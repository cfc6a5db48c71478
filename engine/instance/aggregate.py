"""The workflow instance aggregate and its events.

State changes only by applying events. ``apply`` assigns the state, merges (or collects)
the payload into ``data`` and remembers who fired what; it never runs guards, never
calls the state machine and never reads the clock, so live execution and replay run the
same code. Apply is copy-on-write (new dicts and lists, never in-place updates), which
lets the façade keep cached instances and hand out shallow copies safely.

Open deadlines are part of the instance's state: an event may schedule and cancel them
(``deadlines``) or close the one the system recorded it for (``deadline``). Those keys are
not dataclass fields of the events: an event without them keeps its exact stored body.
"""

# long module: the aggregate, its event classes (steps, migrations, escalations and the four
# amendments, whose apply lives in engine.instance.amendments) and the helpers they share.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from engine.instance import amendments
from engine.instance.hashing import event_hash
from engine.instance.upcasting import ADDED_BY_UPCAST, CURRENT_VERSIONS, ESCALATED, MIGRATED

__all__ = [
    "ESCALATED_TOPIC",
    "HASH_FORMAT",
    "MIGRATED_TOPIC",
    "MIGRATE_TRIGGER",
    "STARTED_TOPIC",
    "TRANSITIONED_TOPIC",
    "WorkflowInstance",
    "open_deadlines",
    "recompute_hash",
]

STARTED_TOPIC = "socieux.instance:Started"
TRANSITIONED_TOPIC = "socieux.instance:Transitioned"
MIGRATED_TOPIC = MIGRATED
ESCALATED_TOPIC = ESCALATED
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
            _apply_deadlines(agg, self)

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

    class Escalated(Event):
        """A deadline fell due (``deadline``: id, name, action ``escalate`` or ``remind``,
        the role to act, the level, due time): recorded by the system actor; the instance
        stays where it is and its data is unchanged."""

        TOPIC: ClassVar[str] = ESCALATED_TOPIC
        class_version: ClassVar[int] = 1
        deadline: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            """Close the deadline; nothing else moves."""
            agg: WorkflowInstance = aggregate
            agg.last_hash = self.hash
            _apply_deadlines(agg, self)

    class Corrected(Event):
        """A correction of named payload fields of an earlier event (``correction``: the
        target version, each field's old and new value; in effect at once, or pending a
        second person's approval). State, trigger, actor and time of the target stay."""

        TOPIC: ClassVar[str] = amendments.CORRECTED
        class_version: ClassVar[int] = 1
        correction: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            """Record the correction; apply its effect if it needs no approval."""
            amendments.apply_correction(aggregate, self)

    class CorrectionApproved(Event):
        """A second person approved a pending correction (``approval``), which takes effect."""

        TOPIC: ClassVar[str] = amendments.CORRECTION_APPROVED
        class_version: ClassVar[int] = 1
        approval: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            """Apply the approved correction's effect."""
            amendments.apply_approval(aggregate, self)

    class EvidenceAttached(Event):
        """A supporting document, by fingerprint (``evidence``: type, title, sha256, size,
        media type, effective date); the document itself stays outside the engine."""

        TOPIC: ClassVar[str] = amendments.EVIDENCE_ATTACHED
        class_version: ClassVar[int] = 1
        evidence: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            """Add the evidence to the instance's list."""
            amendments.apply_evidence(aggregate, self)

    class Noted(Event):
        """A note on the instance (``note``: text and visibility); nothing else moves."""

        TOPIC: ClassVar[str] = amendments.NOTED
        class_version: ClassVar[int] = 1
        note: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            """Only the chain moves on."""
            aggregate.last_hash = self.hash

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
        self.open_deadlines: dict[str, dict[str, Any]] = {}

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
        declared, extra = _split(cls.Started, body)
        if not extra:
            return cls._create(cls.Started, id=instance_id, timestamp=at, hash=digest, **body)
        event = cls.Started(
            originator_id=instance_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=at,
            originator_topic=cls.TOPIC,
            hash=digest,  # type: ignore[call-arg]  # eventsourcing's dataclass fields
            **declared,
        )
        _set_extra(event, extra)
        agg = cast("WorkflowInstance", event.mutate(None))
        agg.pending_events.append(event)
        return agg

    def step(self, *, at: datetime, body: dict[str, Any]) -> None:
        """Record a decided step (``body`` has no hash yet; it is chained here)."""
        self._record(self.Transitioned, at, body)

    def migrate(self, *, at: datetime, body: dict[str, Any]) -> None:
        """Record a planned migration to another definition (``body`` has no hash yet)."""
        self._record(self.Migrated, at, body)

    def escalate(self, *, at: datetime, body: dict[str, Any]) -> None:
        """Record a due ``escalate`` or ``remind`` deadline (``body`` has no hash yet)."""
        self._record(self.Escalated, at, body)

    def amend(
        self, kind: type[WorkflowInstance.Event], *, at: datetime, body: dict[str, Any]
    ) -> None:
        """Record an amendment (a correction, an approval, evidence or a note; see
        :mod:`engine.instance.amendments`); ``body`` has no hash yet."""
        self._record(kind, at, body)

    def _record(
        self, kind: type[WorkflowInstance.Event], at: datetime, body: dict[str, Any]
    ) -> None:
        topic: str = kind.TOPIC  # type: ignore[attr-defined]
        body = {**body, "hash_format": HASH_FORMAT, "event_version": CURRENT_VERSIONS[topic],
                "prev_hash": self.last_hash}  # fmt: skip  # what _stamped gives, and the chain
        iid, version = self.id, self.version + 1
        digest = event_hash(
            topic=topic, originator_id=iid, originator_version=version, timestamp=at, body=body
        )
        declared, extra = _split(kind, body)
        # What ``trigger_event`` does (construct, mutate, append), without its per-call
        # checks and copies. Keys only some events have (``deadlines``, ``deadline``) are
        # not dataclass fields: events without them keep their exact stored body (and hash).
        event = kind(
            originator_id=iid,
            originator_version=version,
            timestamp=at,
            hash=digest,  # type: ignore[call-arg]  # eventsourcing's dataclass fields
            **declared,
        )
        if extra:
            _set_extra(event, extra)
        # What ``event.mutate(self)`` does once its checks hold, as they do by construction
        # (this instance's id, the next version): apply, then the version and time.
        event.apply(self)
        self._version = version
        self._modified_on = at
        self._pending_events.append(event)


@cache
def _declared(kind: type[WorkflowInstance.Event]) -> frozenset[str]:
    return frozenset(f.name for f in fields(kind))


def _split(
    kind: type[WorkflowInstance.Event], body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``body`` as the event class's declared fields and the optional extra keys."""
    names = _declared(kind)
    if names.issuperset(body):  # the common case: nothing but declared fields
        return body, {}
    declared = {k: v for k, v in body.items() if k in names}
    return declared, {k: v for k, v in body.items() if k not in names}


def _set_extra(event: WorkflowInstance.Event, extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        object.__setattr__(event, key, value)


_NONE: Mapping[str, dict[str, Any]] = {}


def open_deadlines(agg: WorkflowInstance) -> Mapping[str, dict[str, Any]]:
    """The instance's open deadlines by id (a snapshot older than deadlines has none)."""
    found: Mapping[str, dict[str, Any]] = vars(agg).get("open_deadlines", _NONE)
    return found


def _apply_deadlines(agg: WorkflowInstance, event: WorkflowInstance.Event) -> None:
    """Close the deadline the event fired, cancel and schedule what it says (copy-on-write)."""
    state = vars(event)
    fired, changes = state.get("deadline"), state.get("deadlines")
    if fired is None and changes is None:
        return
    current = dict(open_deadlines(agg))
    if fired is not None:
        current.pop(str(fired["id"]), None)
    if changes is not None:
        for did in changes.get("cancel", ()):
            current.pop(str(did), None)
        current.update({str(d["id"]): d for d in changes.get("schedule", ())})
    agg.open_deadlines = current


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

"""Replay check: rebuild every instance from its events with the code and definitions
installed now, and report each instance that can no longer be replayed.

An instance fails at its first event that cannot be decoded (unknown topic, unreadable
state, failed upcast), that names a definition hash no installed definition has, or
whose apply step raises. Snapshots are not used to rebuild: every instance is rebuilt
from zero, and each stored snapshot is compared with the state rebuilt at its version
(a snapshot is derived data outside the hash chain; a stale or altered one would make
reads disagree with the history).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError
from eventsourcing.utils import TopicError
from pydantic import BaseModel, ConfigDict

from engine.audit.source import AuditSource
from engine.errors import EngineError
from engine.instance.aggregate import WorkflowInstance
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["DefinitionReplay", "ReplayFailure", "ReplayReport", "replay_check"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
FailureKind = Literal[
    "unknown_topic",
    "undecodable",
    "upcast_failed",
    "unknown_definition",
    "apply_failed",
    "snapshot_mismatch",
]


class ReplayFailure(BaseModel):
    """Why one instance can no longer be replayed, at which version."""

    model_config = _FROZEN

    instance_id: UUID
    version: int
    kind: FailureKind
    detail: str


class DefinitionReplay(BaseModel):
    """The replay of the events one definition decided (an instance that migrated counts
    under each definition it used)."""

    model_config = _FROZEN

    definition_hash: str
    workflow: str | None
    """``None``: no installed definition has this hash."""
    version: int | None
    instances: int
    events: int
    failures: int


class ReplayReport(BaseModel):
    """The replay check's result: ``ok`` when every instance replayed."""

    model_config = _FROZEN

    ok: bool
    instances_checked: int
    events_replayed: int
    failures: list[ReplayFailure]
    definitions: list[DefinitionReplay] = []
    """Per definition hash: instances, events replayed and failures."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def _decode(mapper: Any, stored: Any) -> tuple[Any, FailureKind | None, str]:
    try:
        event = mapper.to_domain_event(stored)
    except TopicError as exc:
        return None, "unknown_topic", f"topic {stored.topic!r} is not installed: {exc}"
    except MapperDeserialisationError as exc:
        return None, "undecodable", _first_line(exc)
    except Exception as exc:  # an upcaster is host code and may raise anything
        return None, "upcast_failed", _first_line(exc)
    if not isinstance(event, WorkflowInstance.Event):
        return None, "unknown_topic", f"topic {stored.topic!r} is not a workflow instance event"
    return event, None, ""


def _state(agg: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(agg).items() if k != "_pending_events"}


def _snapshots(app: EngineApplication, iid: UUID) -> tuple[dict[int, Any], str]:
    """Stored snapshots of ``iid`` rebuilt into aggregates, by version (or why not)."""
    if app.snapshots is None:
        return {}, ""
    try:
        snaps = app.snapshots.get(iid)
        return {s.originator_version: s.mutate(None) for s in snaps}, ""  # type: ignore[attr-defined]
    except Exception as exc:  # a snapshot is stored data like any other: reported, not raised
        return {}, _first_line(exc)


Tally = dict[str, list[Any]]
"""definition hash -> [instance ids, events, failures]."""


def _count(tally: Tally, digest: str, iid: UUID, *, failed: bool) -> None:
    entry = tally.setdefault(digest, [set(), 0, 0])
    entry[0].add(iid)
    entry[1 + failed] += 1


def _replay_one(
    source: AuditSource, iid: UUID, known: set[str], tally: Tally
) -> tuple[int, ReplayFailure | None]:
    app = source.app
    agg: Any = None
    count = 0
    snapshots, snap_error = _snapshots(app, iid)
    if snap_error:
        return 0, ReplayFailure(
            instance_id=iid,
            version=0,
            kind="snapshot_mismatch",
            detail=f"a snapshot cannot be read: {snap_error}",
        )
    for stored in app.recorder.select_events(iid):
        version = int(stored.originator_version)
        event, kind, detail = _decode(app.mapper, stored)
        if kind is None and event.definition_hash not in known:
            try:
                source.registry.by_hash(event.definition_hash)
                known.add(event.definition_hash)
            except EngineError as exc:
                kind, detail = "unknown_definition", exc.message
        if kind is None:
            try:
                agg = event.mutate(agg)
            except Exception as exc:  # reported, never raised: that is the check
                kind, detail = "apply_failed", _first_line(exc)
        if kind is None and version in snapshots and _state(snapshots[version]) != _state(agg):
            kind, detail = "snapshot_mismatch", "the stored snapshot differs from the replay"
        if event is not None:
            _count(tally, event.definition_hash, iid, failed=kind is not None)
        if kind is not None:
            return count, ReplayFailure(instance_id=iid, version=version, kind=kind, detail=detail)
        count += 1
    return count, None


def replay_check(
    source: AuditSource, *, progress: Callable[[int], None] | None = None
) -> ReplayReport:
    """Rebuild every instance from zero and report those that fail."""
    failures: list[ReplayFailure] = []
    known: set[str] = set()
    tally: Tally = {}
    instances = events = 0
    with translate_errors("replaying the log", source.label):
        for iid in source.reader.instance_ids():
            count, failure = _replay_one(source, iid, known, tally)
            instances += 1
            events += count
            if failure is not None:
                failures.append(failure)
            if progress is not None:
                progress(instances)
    return ReplayReport(
        ok=not failures, instances_checked=instances, events_replayed=events, failures=failures,
        definitions=[_definition(source, digest, entry) for digest, entry in sorted(tally.items())],
    )  # fmt: skip


def _definition(source: AuditSource, digest: str, entry: list[Any]) -> DefinitionReplay:
    try:
        compiled = source.registry.by_hash(digest)
        workflow, version = compiled.name, compiled.definition.version
    except EngineError:
        workflow, version = None, None
    return DefinitionReplay(
        definition_hash=digest, workflow=workflow, version=version,
        instances=len(entry[0]), events=entry[1], failures=entry[2],
    )  # fmt: skip

"""Explain one recorded step, and what changed in an instance between two times.

Both read through the engine's own queries (history, as-of reads) plus the stored row of
the event being explained, whose hash is recomputed on the spot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.audit.records import record_of
from engine.audit.source import AuditSource
from engine.errors import EngineError, InstanceNotFound, InvalidArgument
from engine.instance.views import HistoryEntry

__all__ = ["DataChange", "Explanation", "StateDiff", "diff", "explain"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Explanation(HistoryEntry):
    """Who fired a step, as what, why, under which definition, and what each guard read:
    the step's :class:`HistoryEntry` plus its instance, its definition and whether its
    stored hash recomputes."""

    instance_id: UUID
    workflow: str | None
    definition_version: int | None
    hash_verified: bool


def explain(source: AuditSource, iid: UUID, version: int) -> Explanation:
    """The explanation of version ``version`` of an instance."""
    entry = next((h for h in source.reader.history(iid) if h.version == version), None)
    if entry is None:
        raise InstanceNotFound(str(iid), f"it has no version {version}")
    try:
        compiled = source.registry.by_hash(entry.definition_hash)
        workflow, def_version = compiled.name, compiled.definition.version
    except EngineError:
        workflow, def_version = None, None
    app = source.app
    stored = app.recorder.select_events(iid, gt=version - 1, lte=version)
    verified = bool(stored) and record_of(app.mapper, stored[0]).intact
    return Explanation(
        **entry.model_dump(),
        instance_id=iid,
        workflow=workflow,
        definition_version=def_version,
        hash_verified=verified,
    )


class DataChange(BaseModel):
    """One difference in an instance's data: a path such as ``budget.total`` or ``notes[2]``."""

    model_config = _FROZEN

    path: str
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class StateDiff(BaseModel):
    """What changed in an instance's state and data between two times, and by which steps."""

    model_config = _FROZEN

    instance_id: UUID
    from_time: datetime
    to_time: datetime
    from_version: int
    to_version: int
    from_state: str | None
    to_state: str | None
    changes: list[DataChange]
    steps: list[HistoryEntry]


def _changes(before: Any, after: Any, path: str) -> list[DataChange]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[DataChange] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(DataChange(path=sub, change="removed", before=before[key]))
            elif key not in before:
                out.append(DataChange(path=sub, change="added", after=after[key]))
            else:
                out += _changes(before[key], after[key], sub)
        return out
    if isinstance(before, list) and isinstance(after, list) and after[: len(before)] == before:
        return [
            DataChange(path=f"{path}[{i}]", change="added", after=item)
            for i, item in enumerate(after[len(before) :], start=len(before))
        ]
    if before == after:
        return []
    return [DataChange(path=path, change="changed", before=before, after=after)]


def diff(source: AuditSource, iid: UUID, since: datetime, until: datetime) -> StateDiff:
    """What changed in an instance between ``since`` and ``until`` (timezone-aware)."""
    if since > until:
        raise InvalidArgument("--from must not be later than --to")
    after = source.reader.get(iid, version=None, as_of=until)
    try:
        before = source.reader.get(iid, version=None, as_of=since)
    except InstanceNotFound:
        before = None
    from_version = before.version if before else 0
    steps = [h for h in source.reader.history(iid) if from_version < h.version <= after.version]
    return StateDiff(
        instance_id=iid,
        from_time=since,
        to_time=until,
        from_version=from_version,
        to_version=after.version,
        from_state=before.state if before else None,
        to_state=after.state,
        changes=_changes(before.data if before else {}, after.data, ""),
        steps=steps,
    )

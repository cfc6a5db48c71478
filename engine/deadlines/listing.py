"""Queries of the engine's deadline read model: the due table and each actor's worklist.

A worklist item is an instance where the actor may fire something *now*: a trigger of
its current state whose roles include the actor's, that separation of duties does not
keep from this actor (who fired what and acted as what comes from the worklist row, not
from replaying the instance). Guards are not run: they read the payload the command will
bring (``allowed`` reports those triggers as ``needs_payload``) or the instance's data,
which the read model does not copy. Items come by urgency: the earliest open deadline
first (overdue ones are the earliest), then instances without one, longest waiting first.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from engine.commands.compiled import CompiledWorkflow
from engine.commands.registry import WorkflowRegistry
from engine.deadlines.readmodel import DUE, WORKLIST
from engine.deadlines.types import DueDeadline, WorkItem
from engine.definition.model import SYSTEM_ROLE
from engine.errors import EngineError, InvalidArgument
from engine.instance.hashing import utc_iso
from engine.instance.views import Actor, InstanceView
from engine.persistence.sql import SqlStore

__all__ = ["STATUSES", "list_deadlines", "worklist"]

STATUSES = ("open", "fired", "cancelled", "blocked")


def list_deadlines(
    sql: SqlStore,
    *,
    status: str | None,
    overdue: bool,
    within: timedelta | None,
    instance: str | None,
    limit: int,
    now: datetime,
) -> list[DueDeadline]:
    """Due rows by due time: of one ``status`` (default: open), ``overdue`` only (open and
    due at ``now``), or due ``within`` a time from ``now``, of one ``instance``."""
    if status is not None and status not in STATUSES:
        raise InvalidArgument(f"status must be one of {', '.join(STATUSES)}")
    if type(limit) is not int or not 1 <= limit <= 100_000:
        raise InvalidArgument("limit must be an integer from 1 to 100000")
    if within is not None and (not isinstance(within, timedelta) or within < timedelta(0)):
        raise InvalidArgument("within must be a non-negative timedelta")
    where, params = ["status = ?"], [status or "open"]
    if overdue:
        where, params = [*where, "due_at <= ?"], [*params, utc_iso(now)]
    if within is not None:
        where, params = [*where, "due_at <= ?"], [*params, utc_iso(now + within)]
    if instance is not None:
        where, params = [*where, "instance_id = ?"], [*params, instance]
    with sql.read() as cur:
        cur.execute(
            f"SELECT * FROM {sql.table(DUE)} WHERE {' AND '.join(where)} "
            "ORDER BY due_at, instance_id, deadline_id LIMIT ?",
            (*params, limit),
        )
        rows = cur.fetchall()
    return [_due(row, now) for row in rows]


def _due(row: Any, now: datetime) -> DueDeadline:  # a driver row
    due = datetime.fromisoformat(row["due_at"])
    closed = row["closed_at"]
    return DueDeadline(
        instance_id=row["instance_id"],
        deadline_id=row["deadline_id"],
        workflow=row["workflow"],
        state=row["state"],
        name=row["name"],
        action=row["action"],
        trigger=row["trigger"],
        role=row["role"],
        level=row["level"],
        due_at=due,
        status=row["status"],
        closed_at=datetime.fromisoformat(closed) if closed else None,
        lag_seconds=row["lag_seconds"],
        overdue=row["status"] == "open" and due <= now,
        note=row["note"],
    )


def _candidates(registry: WorkflowRegistry, role: str) -> dict[tuple[str, str], list[str]]:
    """``(definition hash, state) -> triggers`` the role is listed for."""
    out: dict[tuple[str, str], list[str]] = {}
    for compiled in registry.all():
        for t in compiled.definition.transitions:
            if role in t.roles:
                for src in t.source:
                    out.setdefault((compiled.hash, src), []).append(t.trigger)
    return out


def worklist(
    sql: SqlStore, registry: WorkflowRegistry, actor: Actor, *, now: datetime, limit: int
) -> list[WorkItem]:
    """The instances where ``actor`` may fire something now, by urgency (module docstring)."""
    if not isinstance(actor, Actor):
        raise InvalidArgument("actor must be an engine.Actor")
    if type(limit) is not int or not 1 <= limit <= 100_000:
        raise InvalidArgument("limit must be an integer from 1 to 100000")
    if actor.role == SYSTEM_ROLE:
        why = f"the role {SYSTEM_ROLE!r} is the engine's own (due deadlines); it has no worklist"
        raise InvalidArgument(why, argument="actor")
    if not any(actor.role in c.roles for c in registry.all()):
        raise InvalidArgument(f"role {actor.role!r} is not a role of any registered workflow")
    candidates = _candidates(registry, actor.role)
    states = sorted({state for _, state in candidates})
    if not states:
        return []
    marks = ", ".join("?" for _ in states)
    due, wl = sql.table(DUE), sql.table(WORKLIST)
    with sql.read() as cur:
        cur.execute(
            f"SELECT w.*, (SELECT MIN(d.due_at) FROM {due} d WHERE d.instance_id = "
            "w.instance_id AND d.status IN ('open', 'blocked')) AS next_due "
            f"FROM {wl} w WHERE w.state IN ({marks})",
            states,
        )
        rows = cur.fetchall()
    items = [
        item for row in rows if (item := _item(registry, candidates, row, actor, now)) is not None
    ]
    items.sort(key=lambda i: (i.due_at is None, i.due_at or now, i.entered_at, i.instance_id))
    return items[:limit]


def _item(
    registry: WorkflowRegistry,
    candidates: dict[tuple[str, str], list[str]],
    row: Any,  # a driver row
    actor: Actor,
    now: datetime,
) -> WorkItem | None:
    triggers = candidates.get((row["definition_hash"], row["state"]))
    if not triggers:
        return None
    compiled = registry.by_hash(row["definition_hash"])
    view = _view(row, compiled)
    may = [t for t in triggers if _may(compiled, view, t, actor)]
    if not may:
        return None
    due = datetime.fromisoformat(row["next_due"]) if row["next_due"] else None
    return WorkItem(
        instance_id=row["instance_id"],
        workflow=row["workflow"],
        definition_version=compiled.definition.version,
        state=row["state"],
        triggers=may,
        due_at=due,
        overdue=due is not None and due <= now,
        entered_at=datetime.fromisoformat(row["entered_at"]),
        escalated=actor.role in json.loads(row["escalated"]),
        actor=actor,
    )


def _may(compiled: CompiledWorkflow, view: InstanceView, trigger: str, actor: Actor) -> bool:
    try:
        compiled.check_access(view, trigger, actor)
    except EngineError:
        return False
    return True


def _view(row: Any, compiled: CompiledWorkflow) -> InstanceView:  # a driver row
    entered = datetime.fromisoformat(row["entered_at"])
    return InstanceView.model_construct(
        id=UUID(row["instance_id"]),
        workflow=row["workflow"],
        definition_version=compiled.definition.version,
        definition_hash=compiled.hash,
        state=row["state"],
        data={},
        version=row["version"],
        created_at=entered,
        updated_at=entered,
        state_entered_at=entered,
        fired_by=json.loads(row["fired_by"]),
        acted_as=json.loads(row["acted_as"]),
        last_hash="",
    )

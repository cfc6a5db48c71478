"""A definition as data: its canonical dict and JSON, and its content hash.

The content hash is sha256 of the canonical JSON of :func:`to_dict` (guard names and
versions included); every instance records the hash of the definition it started on.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel

from engine.definition.audit_policy import audit_dict
from engine.definition.model import (
    DeadlineDef,
    MigrationDef,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
    WorkingCalendar,
)
from engine.instance.hashing import canonical_json, hash_fields

__all__ = ["content_hash", "to_dict", "to_json"]


@cache
def _schema_text(model: type[BaseModel]) -> str:
    """A payload model's JSON schema, as JSON text: built once per process (opening an
    engine hashes and records every definition, and the schemas are most of that work),
    and parsed again for each caller, who gets a copy of its own."""
    return json.dumps(model.model_json_schema())


def _transition_dict(t: TransitionDef) -> dict[str, Any]:
    return {
        "trigger": t.trigger,
        "source": list(t.source),
        "dest": t.dest,
        "roles": list(t.roles),
        "guards": list(t.guards),
        "payload": {
            "model": f"{t.payload.__module__}.{t.payload.__qualname__}",
            "schema": json.loads(_schema_text(t.payload)),
        },
        "separation": list(t.separation),
        "internal": t.internal,
        "reason_required": t.reason_required,
        "collect_as": t.collect_as,
        "description": t.description,
    }


def _migration_dict(m: MigrationDef) -> dict[str, Any]:
    upcaster = m.upcaster
    return {
        "from_version": m.from_version,
        "state_map": dict(sorted(m.state_map.items())),
        "upcaster": None if upcaster is None else {"name": upcaster.name,
                                                   "version": upcaster.version},
        "plan_roles": list(m.plan_roles),
        "apply_roles": list(m.apply_roles),
        "separate_duties": m.separate_duties,
        "description": m.description,
    }  # fmt: skip


def _deadline_dict(d: DeadlineDef) -> dict[str, Any]:
    return {
        "name": d.name, "days": d.days, "working_days": d.working_days,
        "calendar": d.calendar, "action": d.action, "role": d.role, "trigger": d.trigger,
        "level": d.level, "payload": dict(d.payload), "reason": d.reason,
        "description": d.description,
    }  # fmt: skip


def _state_dict(s: StateDef) -> dict[str, Any]:
    """A state; ``deadlines`` only when it declares some (older hashes stay as they were)."""
    out = s.model_dump(exclude={"deadlines"})
    if s.deadlines:
        out["deadlines"] = [_deadline_dict(d) for d in s.deadlines]
    return out


def _calendar_dict(c: WorkingCalendar) -> dict[str, Any]:
    return {
        "weekend": sorted(set(c.weekend)),
        "holidays": sorted({d.isoformat() for d in c.holidays}),
        "description": c.description,
    }


def to_dict(defn: WorkflowDefinition) -> dict[str, Any]:
    """The definition as plain JSON data: what its content hash covers (``migrations``,
    ``calendars`` and a state's ``deadlines`` only when declared, so that older definitions
    keep their hashes)."""
    out = {
        "name": defn.name,
        "version": defn.version,
        "title": defn.title,
        "description": defn.description,
        "roles": list(defn.roles),
        "states": [_state_dict(s) for s in defn.states],
        "transitions": [_transition_dict(t) for t in defn.transitions],
        "guards": [
            {"name": g.name, "version": g.version, "description": g.description}
            for g in defn.guards
        ],
        "settings": dict(defn.settings),
    }
    if defn.migrations:
        out["migrations"] = [_migration_dict(m) for m in defn.migrations]
    if defn.calendars:
        out["calendars"] = {k: _calendar_dict(c) for k, c in sorted(defn.calendars.items())}
    if defn.audit is not None:
        out["audit"] = audit_dict(defn.audit)
    return out


def to_json(defn: WorkflowDefinition, *, indent: int | None = 2) -> str:
    """Pretty JSON (or canonical JSON with ``indent=None``)."""
    if indent is None:
        return canonical_json(to_dict(defn))
    return json.dumps(to_dict(defn), indent=indent, ensure_ascii=False, sort_keys=True)


def content_hash(defn: WorkflowDefinition) -> str:
    """sha256 of the canonical JSON of :func:`to_dict` (guard names and versions included)."""
    return hash_fields(to_dict(defn))

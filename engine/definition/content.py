"""A definition as data: its canonical dict and JSON, and its content hash.

The content hash is sha256 of the canonical JSON of :func:`to_dict` (guard names and
versions included); every instance records the hash of the definition it started on.
"""

from __future__ import annotations

from typing import Any

from engine.definition.model import MigrationDef, TransitionDef, WorkflowDefinition
from engine.instance.hashing import canonical_json, hash_fields

__all__ = ["content_hash", "to_dict", "to_json"]


def _transition_dict(t: TransitionDef) -> dict[str, Any]:
    return {
        "trigger": t.trigger,
        "source": list(t.source),
        "dest": t.dest,
        "roles": list(t.roles),
        "guards": list(t.guards),
        "payload": {
            "model": f"{t.payload.__module__}.{t.payload.__qualname__}",
            "schema": t.payload.model_json_schema(),
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


def to_dict(defn: WorkflowDefinition) -> dict[str, Any]:
    """The definition as plain JSON data: what its content hash covers (``migrations``
    only when it declares some, so that older definitions keep their hashes)."""
    out = {
        "name": defn.name,
        "version": defn.version,
        "title": defn.title,
        "description": defn.description,
        "roles": list(defn.roles),
        "states": [s.model_dump() for s in defn.states],
        "transitions": [_transition_dict(t) for t in defn.transitions],
        "guards": [
            {"name": g.name, "version": g.version, "description": g.description}
            for g in defn.guards
        ],
        "settings": dict(defn.settings),
    }
    if defn.migrations:
        out["migrations"] = [_migration_dict(m) for m in defn.migrations]
    return out


def to_json(defn: WorkflowDefinition, *, indent: int | None = 2) -> str:
    """Pretty JSON (or canonical JSON with ``indent=None``)."""
    if indent is None:
        return canonical_json(to_dict(defn))
    import json

    return json.dumps(to_dict(defn), indent=indent, ensure_ascii=False, sort_keys=True)


def content_hash(defn: WorkflowDefinition) -> str:
    """sha256 of the canonical JSON of :func:`to_dict` (guard names and versions included)."""
    return hash_fields(to_dict(defn))

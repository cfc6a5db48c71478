"""What changed between two versions of a workflow: states, transitions, roles, guards,
payload fields, settings and declared migrations (``socieux workflows diff``).

The comparison reads the definitions' plain dicts (:func:`engine.definition.content.to_dict`),
the data their content hashes cover, so it shows every change that re-pins instances.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.definition.content import content_hash, to_dict
from engine.definition.model import WorkflowDefinition

__all__ = ["Change", "DefinitionDiff", "compare"]


class Change(BaseModel):
    """One difference: ``kind`` is ``added``, ``removed`` or ``changed``."""

    model_config = ConfigDict(frozen=True)

    part: str
    """``state``, ``transition``, ``role``, ``guard``, ``payload``, ``setting``, ``migration``."""
    name: str
    kind: str
    detail: str = ""


class DefinitionDiff(BaseModel):
    """The differences from ``old`` to ``new`` (empty ``changes``: the same content)."""

    model_config = ConfigDict(frozen=True)

    workflow: str
    old_version: int
    new_version: int
    old_hash: str
    new_hash: str
    changes: list[Change]

    def of(self, part: str) -> list[Change]:
        """The changes to one part (``state``, ``transition``...)."""
        return [c for c in self.changes if c.part == part]


def _keyed(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(i[key]): i for i in items}


def _transitions(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Transitions by ``trigger`` and sources (one trigger may leave several states)."""
    return {f"{t['trigger']} from {', '.join(t['source']) or '(start)'}": t
            for t in d["transitions"]}  # fmt: skip


def _fields(t: Mapping[str, Any]) -> set[str]:
    return set(t.get("payload", {}).get("schema", {}).get("properties", {}))


def _sets(part: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Added and removed names, then a ``changed`` line for each that differs."""
    out = [Change(part=part, name=n, kind="added") for n in sorted(set(new) - set(old))]
    out += [Change(part=part, name=n, kind="removed") for n in sorted(set(old) - set(new))]
    for n in sorted(set(old) & set(new)):
        a, b = old[n], new[n]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
            detail = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys if k != "payload")
            if "payload" in keys:
                detail = ", ".join(x for x in (detail, "payload schema") if x)
        else:
            detail = f"{a!r} -> {b!r}"
        out.append(Change(part=part, name=n, kind="changed", detail=detail[:500]))
    return out


def _payloads(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Payload fields added to or removed from each trigger both versions have."""
    a, b = _transitions(old), _transitions(new)
    out: list[Change] = []
    for name in sorted(set(a) & set(b)):
        added, removed = _fields(b[name]) - _fields(a[name]), _fields(a[name]) - _fields(b[name])
        out += [Change(part="payload", name=f"{name}: {f}", kind="added") for f in sorted(added)]
        out += [
            Change(part="payload", name=f"{name}: {f}", kind="removed") for f in sorted(removed)
        ]
    return out


def compare(old: WorkflowDefinition, new: WorkflowDefinition) -> DefinitionDiff:
    """Every difference from ``old`` to ``new``, part by part."""
    a, b = to_dict(old), to_dict(new)
    changes = _sets("state", _keyed(a["states"], "name"), _keyed(b["states"], "name"))
    changes += _sets("transition", _transitions(a), _transitions(b))
    changes += _sets("role", {r: r for r in a["roles"]}, {r: r for r in b["roles"]})
    changes += _sets("guard", _keyed(a["guards"], "name"), _keyed(b["guards"], "name"))
    changes += _payloads(a, b)
    changes += _sets("setting", a["settings"], b["settings"])
    old_m = {str(m["from_version"]): m for m in a.get("migrations", [])}
    new_m = {str(m["from_version"]): m for m in b.get("migrations", [])}
    changes += _sets("migration", old_m, new_m)
    return DefinitionDiff(
        workflow=new.name, old_version=old.version, new_version=new.version,
        old_hash=content_hash(old), new_hash=content_hash(new), changes=changes,
    )  # fmt: skip

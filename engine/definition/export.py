"""Exports of a definition: canonical dict/JSON, content hash, Mermaid and DOT."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.definition.model import TransitionDef, WorkflowDefinition
from engine.instance.hashing import canonical_json, hash_fields

__all__ = ["START_STATE", "content_hash", "to_dict", "to_dot", "to_json", "to_mermaid"]

START_STATE = "__start__"
"""Pseudo-state that start transitions leave from, in the machine and in diagrams."""


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


def to_dict(defn: WorkflowDefinition) -> dict[str, Any]:
    """The definition as plain JSON data: what its content hash covers."""
    return {
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


def to_json(defn: WorkflowDefinition, *, indent: int | None = 2) -> str:
    """Pretty JSON (or canonical JSON with ``indent=None``)."""
    if indent is None:
        return canonical_json(to_dict(defn))
    import json

    return json.dumps(to_dict(defn), indent=indent, ensure_ascii=False, sort_keys=True)


def content_hash(defn: WorkflowDefinition) -> str:
    """sha256 of the canonical JSON of :func:`to_dict` (guard names and versions included)."""
    return hash_fields(to_dict(defn))


def machine_spec(defn: WorkflowDefinition) -> tuple[list[Any], list[dict[str, Any]]]:
    """States and transitions in the form ``transitions.Machine`` takes."""
    states: list[Any] = [START_STATE] + [
        {"name": s.name, "final": s.final} if s.final else s.name for s in defn.states
    ]
    transitions = [
        {
            "trigger": t.trigger,
            "source": list(t.source) or [START_STATE],
            "dest": None if t.internal else t.dest,
        }
        for t in defn.transitions
    ]
    return states, transitions


def to_mermaid(defn: WorkflowDefinition) -> str:
    """Mermaid state diagram, drawn by ``transitions``' own mermaid graph engine."""
    from transitions.extensions import GraphMachine

    states, transitions = machine_spec(defn)
    probe = SimpleNamespace()  # a throwaway model: the diagram engine needs one
    GraphMachine(
        model=probe,
        states=states,
        transitions=transitions,
        initial=START_STATE,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{defn.name} v{defn.version}",
    )
    return str(probe.get_graph().draw(None))


def to_dot(defn: WorkflowDefinition) -> str:
    """Graphviz DOT source (no system library needed to produce it)."""
    lines = [f'digraph "{defn.name}_v{defn.version}" {{', "  rankdir=LR;"]
    lines.append(f'  "{START_STATE}" [shape=point];')
    for s in defn.states:
        shape = "doublecircle" if s.final else "box"
        sla = f"\\n(SLA {s.sla_days} d)" if s.sla_days else ""
        lines.append(f'  "{s.name}" [shape={shape}, label="{s.name}{sla}"];')
    for t in defn.transitions:
        roles = ", ".join(t.roles)
        for src in t.source or (START_STATE,):
            dest = t.dest_from(src) if t.source else t.dest
            style = ", style=dashed" if t.internal else ""
            lines.append(f'  "{src}" -> "{dest}" [label="{t.trigger}\\n[{roles}]"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"

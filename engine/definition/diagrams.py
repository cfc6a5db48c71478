"""Drawings of a definition: the form ``transitions.Machine`` takes, Mermaid and DOT."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.definition.model import START_STATE, WorkflowDefinition

__all__ = ["machine_spec", "to_dot", "to_mermaid"]


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

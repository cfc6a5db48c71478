"""A definition's states and transitions laid out for an SVG drawing, with the path an
instance took, its current state and its late stays marked.

States go in columns by their distance from the start (a breadth-first walk of the
transitions); in each column, states that lead further come first, final states last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.definition.model import WorkflowDefinition

__all__ = ["Diagram", "Edge", "Node", "layout"]

NODE_W = 132
NODE_H = 34
COL = 168
ROW = 58
PAD = 12


@dataclass(frozen=True)
class Node:
    """One state's box: where it is and what the instance did there."""

    name: str
    x: float
    y: float
    final: bool
    visited: bool
    current: bool
    late: bool

    @property
    def classes(self) -> str:
        """The stylesheet classes that colour it."""
        names = ["state"]
        names += [c for c, on in (("final", self.final), ("visited", self.visited)) if on]
        names += [c for c, on in (("current", self.current), ("late", self.late)) if on]
        return " ".join(names)


@dataclass(frozen=True)
class Edge:
    """One transition's arrow as an SVG path."""

    trigger: str
    source: str
    dest: str
    d: str
    taken: bool


@dataclass(frozen=True)
class Diagram:
    """The drawing: its size, boxes and arrows."""

    title: str
    width: float
    height: float
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _depths(defn: WorkflowDefinition) -> dict[str, int]:
    """Each state's distance from the start; unreachable states go one past the farthest."""
    depth = {t.dest: 0 for t in defn.transitions if t.is_start and t.dest}
    frontier = list(depth)
    while frontier:
        nxt: list[str] = []
        for state in frontier:
            for t in defn.transitions:
                if state in t.source and not t.internal and t.dest and t.dest not in depth:
                    depth[t.dest] = depth[state] + 1
                    nxt.append(t.dest)
        frontier = nxt
    far = max(depth.values(), default=-1) + 1
    return {s.name: depth.get(s.name, far) for s in defn.states}


def _reach(defn: WorkflowDefinition, depth: dict[str, int]) -> dict[str, int]:
    """How deep each state leads (the farthest column reachable forward from it)."""
    reach = dict(depth)
    for _ in defn.states:  # relax until stable (at most one pass per state)
        for t in defn.transitions:
            if t.dest and not t.internal:
                for s in t.source:
                    if depth[t.dest] > depth[s]:
                        reach[s] = max(reach[s], reach[t.dest])
    return reach


def _positions(defn: WorkflowDefinition) -> dict[str, tuple[float, float]]:
    depth = _depths(defn)
    reach = _reach(defn, depth)
    order = {s.name: i for i, s in enumerate(defn.states)}
    columns: dict[int, list[str]] = {}
    for s in defn.states:
        columns.setdefault(depth[s.name], []).append(s.name)
    finals = {s.name for s in defn.states if s.final}
    pos: dict[str, tuple[float, float]] = {}
    for col, names in columns.items():
        names.sort(key=lambda n: (n in finals, -reach[n], order[n]))
        for row, name in enumerate(names):
            pos[name] = (PAD + col * COL, PAD + row * ROW)
    return pos


def _path(a: tuple[float, float], b: tuple[float, float]) -> str:
    """An arrow from box ``a`` to box ``b``: forward edges leave on the right; edges within
    a column bulge out to the right; edges back to an earlier column curve below."""
    (ax, ay), (bx, by) = a, b
    if bx > ax:
        x1, y1, x2, y2 = ax + NODE_W, ay + NODE_H / 2, bx, by + NODE_H / 2
        mid = (x1 + x2) / 2
        return f"M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}"
    if bx == ax:
        x, y1, y2 = ax + NODE_W, ay + NODE_H / 2, by + NODE_H / 2
        out = x + 16 + abs(y2 - y1) / ROW * 6
        return f"M{x:g},{y1:g} C{out:g},{y1:g} {out:g},{y2:g} {x:g},{y2:g}"
    x1, y1 = ax + NODE_W / 2 - 12, ay + NODE_H
    x2, y2 = bx + NODE_W / 2 + 12, by + NODE_H
    low = max(y1, y2) + ROW / 2
    return f"M{x1:g},{y1:g} C{x1:g},{low:g} {x2:g},{low:g} {x2:g},{y2:g}"


def layout(
    defn: WorkflowDefinition,
    *,
    path: Sequence[tuple[str | None, str, str]] = (),
    current: str | None = None,
    late: Iterable[str] = (),
) -> Diagram:
    """The drawing of ``defn``, marking the moves of ``path`` (``(source, dest, trigger)``;
    source ``None`` for the start), the ``current`` state and the ``late`` ones. An arrow is
    taken when its own trigger fired from its source: of two transitions between the same
    states (an opinion given, or deemed favourable by silence), only the one fired is."""
    pos = _positions(defn)
    visited = {dest for _, dest, _ in path}
    moves = {(s, d, t) for s, d, t in path if s is not None and s != d}
    late_states = set(late)
    nodes = tuple(
        Node(s.name, *pos[s.name], s.final, s.name in visited, s.name == current,
             s.name in late_states)
        for s in defn.states
    )  # fmt: skip
    edges = []
    for t in defn.transitions:
        if t.internal or not t.dest:
            continue
        for src in t.source:
            d = _path(pos[src], pos[t.dest])
            edges.append(Edge(t.trigger, src, t.dest, d, (src, t.dest, t.trigger) in moves))
    width = max(x for x, _ in pos.values()) + NODE_W + PAD
    height = max(y for _, y in pos.values()) + NODE_H + ROW / 2 + PAD
    edges.sort(key=lambda e: e.taken)  # taken arrows drawn last, on top
    return Diagram(f"{defn.name} v{defn.version}", width, height, nodes, tuple(edges))

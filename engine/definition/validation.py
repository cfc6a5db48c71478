"""Whole-definition validation: every problem is found and reported at once."""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterable

from pydantic import BaseModel, ValidationError

from engine.definition.audit_policy import audit_problems
from engine.definition.model import SYSTEM_ROLE, DeadlineDef, StateDef, WorkflowDefinition
from engine.definition.retention import retention_problems
from engine.errors import WorkflowDefinitionError

__all__ = ["problems", "validate"]


def validate(defn: WorkflowDefinition) -> None:
    """Raise :class:`WorkflowDefinitionError` listing every problem, if there is any."""
    found = problems(defn)
    if found:
        raise WorkflowDefinitionError(defn.key, found)


_ROLE = re.compile(r"[a-z][a-z0-9_]{0,99}")
"""Roles are stored in every event and compared as they are: plain, storable names."""


def problems(defn: WorkflowDefinition) -> list[str]:
    """Every problem in ``defn``, as human-readable lines (empty when valid)."""
    out: list[str] = []
    out += _names(defn)
    out += _references(defn)
    initial = _initial_state(defn, out)
    out += _structure(defn, initial)
    out += _migrations(defn)
    out += _calendars(defn)
    out += audit_problems(defn)
    out += retention_problems(defn.settings)
    for state in defn.states:
        out += [p for d in state.deadlines for p in _deadline(defn, state, d)]
        out += [
            f"state {state.name!r} declares deadline {n!r} more than once"
            for n in _dupes(d.name for d in state.deadlines)
        ]
    return out


_CALENDAR = re.compile(r"[A-Z]{2}([-_][A-Z0-9]{1,8})?")
"""A calendar's code: an ISO 3166 country code, optionally with a region (``BE``, ``ES-CT``)."""


def _calendars(defn: WorkflowDefinition) -> list[str]:
    out: list[str] = []
    for code, cal in defn.calendars.items():
        if not _CALENDAR.fullmatch(code):
            out.append(f"calendar {code!r} is not a country code (such as 'BE' or 'ES-CT')")
        if bad := sorted({d for d in cal.weekend if not 1 <= d <= 7}):
            out.append(f"calendar {code!r}: weekend days {bad} are not ISO weekdays 1 to 7")
        if len(set(cal.weekend)) >= 7:
            out.append(f"calendar {code!r} has no working weekday")
    return out


def _deadline(defn: WorkflowDefinition, state: StateDef, d: DeadlineDef) -> list[str]:
    """What is wrong with deadline ``d`` of ``state``: duration, calendar, role, trigger."""
    where = f"deadline {d.name!r} of state {state.name!r}"
    out: list[str] = []
    if state.final:
        out.append(f"{where}: a final state cannot have deadlines")
    if d.days <= 0:
        out.append(f"{where}: its duration must be a positive number of days, not {d.days}")
    if d.calendar is not None and d.calendar not in defn.calendars:
        known = ", ".join(sorted(defn.calendars)) or "none"
        out.append(f"{where}: unknown calendar {d.calendar!r} (declared: {known})")
    if d.calendar is not None and not d.working_days:
        out.append(f"{where}: a calendar only counts working days (set working_days)")
    if d.action == "fire":
        return out + _fired(defn, state, d, where)
    roles = {*defn.roles, *(r for t in defn.transitions for r in t.roles)} - {SYSTEM_ROLE}
    if d.role is None or d.role not in roles:
        out.append(f"{where}: {d.action} needs a declared role to act, not {d.role!r}")
    if d.trigger is not None or d.payload:
        out.append(f"{where}: only a 'fire' deadline names a trigger and a payload")
    if d.action == "escalate" and d.level < 1:
        out.append(f"{where}: the escalation level must be 1 or more, not {d.level}")
    return out


def _fired(defn: WorkflowDefinition, state: StateDef, d: DeadlineDef, where: str) -> list[str]:
    """A ``fire`` deadline names a transition from its state that the system may fire."""
    here = (t for t in defn.transitions if t.trigger == d.trigger and state.name in t.source)
    t = next(here, None)
    if t is None:
        return [f"{where}: fires {d.trigger!r}, which is no transition from {state.name!r}"]
    out: list[str] = []
    if SYSTEM_ROLE not in t.roles:
        out.append(f"{where}: transition {t.trigger!r} must list role {SYSTEM_ROLE!r}")
    if d.role is not None:
        out.append(f"{where}: a 'fire' deadline acts as the system, it names no role")
    if isinstance(t.payload, type) and issubclass(t.payload, BaseModel):
        try:
            t.payload.model_validate(dict(d.payload))
        except ValidationError as exc:
            problems = exc.error_count()
            out.append(f"{where}: its payload is not valid for {t.trigger!r} ({problems} problems)")
    return out


def _migrations(defn: WorkflowDefinition) -> list[str]:
    """Each migration comes from an older version, once, into states and roles declared here."""
    out: list[str] = []
    states = {s.name for s in defn.states}
    roles = {*defn.roles, *(r for t in defn.transitions for r in t.roles)}
    out += [f"a migration from version {v} is declared more than once"
            for v in _dupes(str(m.from_version) for m in defn.migrations)]  # fmt: skip
    for m in defn.migrations:
        where = f"the migration from version {m.from_version}"
        if m.from_version >= defn.version:
            out.append(f"{where} does not come from an older version than {defn.version}")
        out += [
            f"{where} maps {old!r} to {new!r}, which is not a state of this definition"
            for old, new in m.state_map.items()
            if new not in states
        ]
        out += [
            f"{where} names role {r!r}, which this definition does not declare"
            for r in sorted({*m.plan_roles, *m.apply_roles} - roles)
        ]
    return out


def _dupes(names: Iterable[str]) -> list[str]:
    return sorted(n for n, c in Counter(names).items() if c > 1)


def _names(defn: WorkflowDefinition) -> list[str]:
    out = [f"state {n!r} is declared more than once" for n in _dupes(s.name for s in defn.states)]
    guards = _dupes(g.name for g in defn.guards)
    out += [f"guard {n!r} is registered more than once" for n in guards]
    pairs = [(src, t.trigger) for t in defn.transitions for src in (t.source or ("(start)",))]
    out += [
        f"trigger {trig!r} is defined more than once from state {src!r} (ambiguous)"
        for src, trig in _dupes_pairs(pairs)
    ]
    roles = {*defn.roles, *(r for t in defn.transitions for r in t.roles)}
    out += [
        f"role {r!r} is not a name (lower-case letters, digits and _, starting with a letter)"
        for r in sorted(roles)
        if not _ROLE.fullmatch(r)
    ]
    return out


def _dupes_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(p for p, c in Counter(pairs).items() if c > 1)


def _references(defn: WorkflowDefinition) -> list[str]:
    out: list[str] = []
    states = {s.name for s in defn.states}
    guards = {g.name for g in defn.guards}
    triggers = {t.trigger for t in defn.transitions}
    roles = set(defn.roles)
    used_roles = {r for t in defn.transitions for r in t.roles}
    for t in defn.transitions:
        where = f"transition {t.trigger!r}"
        out += [f"{where}: unknown source state {s!r}" for s in t.source if s not in states]
        if t.internal:
            if t.dest is not None and (len(t.source) != 1 or t.dest != t.source[0]):
                out.append(f"{where}: an internal transition must stay in its one source state")
            if not t.source:
                out.append(f"{where}: a start transition cannot be internal")
        elif t.dest is None:
            out.append(f"{where}: has no destination (set dest, or mark it internal)")
        elif t.dest not in states:
            out.append(f"{where}: unknown destination state {t.dest!r}")
        out += [f"{where}: unknown guard {g!r}" for g in t.guards if g not in guards]
        if roles:
            out += [
                f"{where}: role {r!r} is not declared"
                for r in t.roles
                if r not in roles and r != SYSTEM_ROLE
            ]
        for name in t.separation:
            if name not in triggers and name not in used_roles | roles:
                out.append(f"{where}: separation names unknown trigger or role {name!r}")
        if not (isinstance(t.payload, type) and issubclass(t.payload, BaseModel)):
            out.append(f"{where}: payload must be a pydantic model class")
    return out


def _initial_state(defn: WorkflowDefinition, out: list[str]) -> str | None:
    starts = [t for t in defn.transitions if not t.source]
    dests = sorted({t.dest for t in starts if t.dest is not None})
    if not starts:
        out.append("no start transition (a transition with an empty source)")
        return None
    if len(dests) != 1:
        out.append(f"start transitions must lead to exactly one initial state, got {dests}")
        return None
    return dests[0]


def _structure(defn: WorkflowDefinition, initial: str | None) -> list[str]:
    out: list[str] = []
    finals = {s.name for s in defn.states if s.final}
    if not finals:
        out.append("no final state")
    edges: dict[str, set[str]] = defaultdict(set)
    for t in defn.transitions:
        for src in t.source:
            edges[src].add(t.dest_from(src))
            if src in finals:
                out.append(f"transition {t.trigger!r} leaves final state {src!r}")
    if initial is None:
        return out
    reachable = _closure({initial}, edges)
    out += [
        f"state {s.name!r} is unreachable from the initial state {initial!r}"
        for s in defn.states
        if s.name not in reachable
    ]
    reverse: dict[str, set[str]] = defaultdict(set)
    for src, dests in edges.items():
        for d in dests:
            reverse[d].add(src)
    can_finish = _closure(finals, reverse)
    out += [
        f"state {s.name!r} is a dead end: no final state can be reached from it"
        for s in defn.states
        if not s.final and s.name in reachable and s.name not in can_finish
    ]
    return out


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen

"""A workflow definition as the rule checks read it: plain data (standard library only).

The input is the dict :func:`engine.definition.content.to_dict` gives, the one whose
canonical JSON hashes to the definition's content hash (the hash every event pins). An
export carries it on a ``definition`` line; the online verifier takes it from the installed
definitions. Only what the rules need is read: each transition's trigger, sources, dest,
roles, separation, guards (with the definition's guard versions), ``internal``,
``collect_as`` and ``reason_required``; each state's deadlines and the calendars they
count working days with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

__all__ = ["START_STATE", "Calendar", "Deadline", "DefinitionError", "Migration", "Rules", "Step"]

START_STATE = "__start__"
"""The pseudo-state start transitions leave from (as in ``engine.definition.model``)."""


class DefinitionError(ValueError):
    """A definition dict that is not the shape ``to_dict`` gives."""


def _strs(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{what} is not a list of strings"
        raise DefinitionError(msg)
    return tuple(value)


def _opt_str(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        msg = f"{what} is not a string or null"
        raise DefinitionError(msg)
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{what} is not true or false"
        raise DefinitionError(msg)
    return value


@dataclass(frozen=True, slots=True)
class Step:
    """One transition of a definition."""

    trigger: str
    dest: str | None
    internal: bool
    roles: tuple[str, ...]
    separation: tuple[str, ...]
    guards: tuple[tuple[str, int | None], ...]
    collect_as: str | None
    reason_required: bool

    def dest_from(self, state: str) -> str | None:
        """Where it leads from ``state`` (internal steps keep the state)."""
        if state == START_STATE:
            return self.dest
        return state if self.internal or self.dest is None else self.dest

    @classmethod
    def of(cls, t: object, versions: Mapping[str, int]) -> tuple[Step, tuple[str, ...]]:
        """The step of transition dict ``t`` and the states it leaves from."""
        if not isinstance(t, dict) or not isinstance(t.get("trigger"), str):
            raise DefinitionError("a transition is not an object with a trigger")
        name = f"transition {t['trigger']!r}"
        step = cls(
            trigger=t["trigger"],
            dest=_opt_str(t.get("dest"), f"the dest of {name}"),
            internal=_flag(t.get("internal"), f"internal of {name}"),
            roles=_strs(t.get("roles"), f"the roles of {name}"),
            separation=_strs(t.get("separation"), f"the separation of {name}"),
            guards=tuple((g, versions.get(g)) for g in _strs(t.get("guards"), f"guards of {name}")),
            collect_as=_opt_str(t.get("collect_as"), f"the collect_as of {name}"),
            reason_required=_flag(t.get("reason_required"), f"reason_required of {name}"),
        )
        return step, _strs(t.get("source"), f"the source of {name}") or (START_STATE,)


def _guard_versions(value: object) -> dict[str, int]:
    if not isinstance(value, list):
        raise DefinitionError("guards is not a list")
    versions: dict[str, int] = {}
    for g in value:
        if not isinstance(g, dict) or not isinstance(g.get("name"), str):
            raise DefinitionError("a guard is not an object with a name")
        v = g.get("version")
        if not isinstance(v, int) or isinstance(v, bool):
            msg = f"guard {g['name']!r} has no integer version"
            raise DefinitionError(msg)
        versions[g["name"]] = v
    return versions


@dataclass(frozen=True, slots=True)
class Migration:
    """A migration the definition declares: from which version, which states map where, the
    data upcaster (name, version), who may apply it, and whether the planner may."""

    from_version: int
    state_map: Mapping[str, str]
    upcaster: tuple[str, int] | None
    apply_roles: tuple[str, ...]
    separate_duties: bool

    @classmethod
    def of(cls, m: object) -> Migration:
        """The migration of dict ``m`` (as ``to_dict`` writes it)."""
        if not isinstance(m, dict) or type(m.get("from_version")) is not int:
            raise DefinitionError("a migration is not an object with a from_version")
        state_map = m.get("state_map")
        if not isinstance(state_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in state_map.items()
        ):
            raise DefinitionError("a migration's state_map is not a map of states")
        up = m.get("upcaster")
        upcaster = None
        if up is not None:
            if not isinstance(up, dict) or not isinstance(up.get("name"), str):
                raise DefinitionError("a migration's upcaster is not an object with a name")
            if type(up.get("version")) is not int:
                raise DefinitionError("a migration's upcaster has no integer version")
            upcaster = (up["name"], up["version"])
        return cls(
            from_version=m["from_version"],
            state_map=dict(state_map),
            upcaster=upcaster,
            apply_roles=_strs(m.get("apply_roles"), "a migration's apply_roles"),
            separate_duties=_flag(m.get("separate_duties"), "a migration's separate_duties"),
        )


@dataclass(frozen=True, slots=True)
class Calendar:
    """A working calendar: ISO weekdays off and public holidays."""

    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, c: object) -> Calendar:
        """The calendar of dict ``c`` (as ``to_dict`` writes it)."""
        if not isinstance(c, dict) or not isinstance(c.get("weekend"), list):
            raise DefinitionError("a calendar is not an object with a weekend")
        try:
            days = [date.fromisoformat(d) for d in _strs(c.get("holidays"), "holidays")]
        except ValueError as exc:
            raise DefinitionError("a calendar's holiday is not an ISO date") from exc
        return cls(frozenset(int(d) for d in c["weekend"]), frozenset(days))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` moved on by ``days`` working days (as the engine counts them)."""
        at, left = start, days
        while left > 0 and len(self.weekend) < 7:
            at += timedelta(days=1)
            if at.isoweekday() not in self.weekend and at.date() not in self.holidays:
                left -= 1
        return at


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline a state declares: when it falls due and what it records then."""

    name: str
    days: int
    working_days: bool
    calendar: str | None
    action: str
    trigger: str | None
    role: str | None
    level: int

    @classmethod
    def of(cls, d: object) -> Deadline:
        """The deadline of dict ``d`` (as ``to_dict`` writes it)."""
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise DefinitionError("a deadline is not an object with a name")
        if type(d.get("days")) is not int or type(d.get("level")) is not int:
            raise DefinitionError(f"deadline {d['name']!r} has no integer days or level")
        return cls(
            d["name"],
            d["days"],
            _flag(d.get("working_days"), "working_days"),
            _opt_str(d.get("calendar"), "calendar"),
            str(d.get("action")),
            _opt_str(d.get("trigger"), "trigger"),
            _opt_str(d.get("role"), "role"),
            d["level"],
        )

    def entry(
        self, version: int, entered: datetime, calendars: Mapping[str, Calendar]
    ) -> dict[str, object]:
        """What the event entering its state at ``version`` (time ``entered``) schedules."""
        due = entered + timedelta(days=self.days)
        if self.working_days:
            cal = calendars.get(self.calendar or "", Calendar())
            due = cal.add_working_days(entered, self.days)
        iso = due.astimezone(UTC).isoformat(timespec="microseconds")
        out: dict[str, object] = {
            "id": f"{version}:{self.name}",
            "name": self.name,
            "action": self.action,
            "due_at": iso,
        }
        if self.action == "fire":
            out["trigger"] = self.trigger
        else:
            out["role"] = self.role
        if self.action == "escalate":
            out["level"] = self.level
        return out


def _deadlines(states: object) -> dict[str, tuple[Deadline, ...]]:
    if not isinstance(states, list):
        raise DefinitionError("the definition's states are not a list")
    out: dict[str, tuple[Deadline, ...]] = {}
    for s in states:
        if isinstance(s, dict) and isinstance(s.get("name"), str) and s.get("deadlines"):
            declared = s["deadlines"]
            if not isinstance(declared, list):
                raise DefinitionError(f"the deadlines of state {s['name']!r} are not a list")
            out[s["name"]] = tuple(map(Deadline.of, declared))
    return out


def _calendars(value: object) -> dict[str, Calendar]:
    if not isinstance(value, dict):
        raise DefinitionError("the definition's calendars are not an object")
    return {str(k): Calendar.of(v) for k, v in value.items()}


@dataclass(frozen=True, slots=True)
class Rules:
    """A definition's transitions by state and trigger, with its name, version and hash,
    and the migrations it declares (by the version they come from)."""

    digest: str
    name: str
    version: int
    table: Mapping[str, Mapping[str, Step]]
    migrations: Mapping[int, Migration] = field(default_factory=dict)
    deadlines: Mapping[str, tuple[Deadline, ...]] = field(default_factory=dict)
    """The deadlines each state declares (states without any are absent)."""
    calendars: Mapping[str, Calendar] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, digest: str, d: Mapping[str, object]) -> Rules:
        """The rules of definition dict ``d`` (``DefinitionError`` if malformed)."""
        name, version, transitions = d.get("name"), d.get("version"), d.get("transitions")
        if not isinstance(name, str) or not isinstance(version, int):
            raise DefinitionError("the definition has no name or version")
        if not isinstance(transitions, list):
            raise DefinitionError("the definition's transitions are not a list")
        versions = _guard_versions(d.get("guards"))
        table: dict[str, dict[str, Step]] = {}
        for t in transitions:
            step, sources = Step.of(t, versions)
            for src in sources:
                table.setdefault(src, {})[step.trigger] = step
        declared = d.get("migrations", [])
        if not isinstance(declared, list):
            raise DefinitionError("the definition's migrations are not a list")
        migrations = {m.from_version: m for m in map(Migration.of, declared)}
        deadlines = _deadlines(d.get("states", []))
        calendars = _calendars(d.get("calendars", {}))
        return cls(digest, name, version, table, migrations, deadlines, calendars)

    def entering(self, trigger: str | None, dest: str | None) -> Step | None:
        """The (non-internal) transition ``trigger`` that leads into ``dest``, if any."""
        for steps in self.table.values():
            step = steps.get(trigger or "")
            if step is not None and not step.internal and step.dest == dest:
                return step
        return None

    def step(self, state: str | None, trigger: str | None) -> Step | None:
        """The transition for ``trigger`` from ``state``, if the definition has one."""
        if state is None or trigger is None:
            return None
        return self.table.get(state, {}).get(trigger)

    def allowed(self, state: str | None) -> str:
        """The triggers defined from ``state``, for messages."""
        return ", ".join(self.table.get(state or "", {})) or "none"

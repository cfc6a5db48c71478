"""Workflow definitions: data describing states, transitions, roles and guards.

A :class:`WorkflowDefinition` is a frozen pydantic model. It is data, not code: the only
callables it holds are the guard functions registered with it (:class:`Guard`), and those
enter its content hash by name and version only.
"""

# long module: the definition's whole vocabulary (states, deadlines and their calendars,
# transitions, guards, migrations, display) is one pydantic model tree, read together.

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.definition.audit_policy import AuditPolicy

if TYPE_CHECKING:
    from engine.instance.views import Actor, InstanceView

__all__ = [
    "START_STATE",
    "SYSTEM_ROLE",
    "DataUpcaster",
    "DeadlineDef",
    "DisplayFact",
    "DisplaySpec",
    "EmptyPayload",
    "Guard",
    "GuardContext",
    "GuardFunction",
    "GuardResult",
    "MigrationDef",
    "MigrationRefused",
    "Personal",
    "PersonalStr",
    "StateDef",
    "TransitionDef",
    "WorkflowDefinition",
    "WorkingCalendar",
]

START_STATE = "__start__"
"""Pseudo-state that start transitions leave from, in the machine and in diagrams."""
SYSTEM_ROLE = "system"
"""The reserved role of the engine's own actor, ``Actor("system", "system")``: only a due
deadline fires as it; a host passing this role is refused (``PermissionDenied``)."""


@dataclass(frozen=True, slots=True)
class Personal:
    """Marker for payload fields holding personal data: ``Annotated[str, Personal()]``.

    The engine never logs these fields, stores each one encrypted with its data subject's
    key and erases it by destroying that key (:mod:`engine.privacy`). ``subject`` names the
    subject's role in the payload (``"contact"``, ``"expert"``); ``id_field`` names the
    sibling field holding the subject's stable pseudonymous id (an expert's roster id).
    Without ``id_field`` the subject is the instance's own (``contact:<instance id>``).
    The marker is not part of a definition's content hash (the payload's JSON Schema
    ignores it), so declaring subjects changes no pinned hash.
    """

    category: str = "personal"
    subject: str = ""
    id_field: str = ""


PersonalStr = Annotated[str, Personal()]
"""A string field that holds personal data (a name, an e-mail, a phone number)."""


class EmptyPayload(BaseModel):
    """Payload model for transitions that carry no data."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class GuardResult:
    """What a guard decided: ``ok``, a human ``reason`` and the ``inputs`` it read."""

    ok: bool
    reason: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, reason: str = "", **inputs: Any) -> GuardResult:
        """A passing result that records the inputs it read."""
        return cls(True, reason, inputs)

    @classmethod
    def failed(cls, reason: str, **inputs: Any) -> GuardResult:
        """A failing result with its reason and the inputs it read."""
        return cls(False, reason, inputs)


@dataclass(frozen=True, slots=True)
class GuardContext:
    """Everything a guard may read. Guards do no I/O and never read the clock."""

    view: InstanceView
    payload: BaseModel
    actor: Actor
    trigger: str
    now: datetime
    settings: Mapping[str, Any]


GuardFunction = Callable[[GuardContext], GuardResult]
"""A pure function deciding one rule."""


@dataclass(frozen=True, slots=True)
class Guard:
    """A named, versioned guard function. Bump ``version`` when its rule changes."""

    name: str
    func: GuardFunction
    version: int = 1
    description: str = ""


class MigrationRefused(Exception):
    """Raised by a :class:`DataUpcaster` that cannot rewrite one instance's data; its
    message (which must hold no personal data) is shown in the migration plan."""


class DataUpcaster:
    """A named, versioned function rewriting an instance's ``data`` from the shape of an
    older definition version to this one's. It reads the instance as it is (a view, under
    its old definition) and returns the new data; it does no I/O and never reads the clock.
    It may raise :class:`MigrationRefused` to keep one instance where it is. Like a guard,
    it enters the content hash by name and version only: bump ``version`` when it changes.

    (A plain class, not a dataclass: pydantic would otherwise resolve the view's type when
    a definition is built, and definitions import nothing of the instance layer at run time.)
    """

    __slots__ = ("description", "func", "name", "version")

    def __init__(
        self,
        name: str,
        func: Callable[[InstanceView], Mapping[str, Any]],
        version: int = 1,
        description: str = "",
    ) -> None:
        self.name = name
        self.func = func
        self.version = version
        self.description = description

    def __repr__(self) -> str:
        return f"DataUpcaster({self.name!r}, version={self.version})"


class MigrationDef(BaseModel):
    """How instances of an older version (``from_version``) may move to this definition.

    ``state_map`` maps each state an instance may migrate from to its state here; an
    instance in any other state stays on its version. ``plan_roles`` may plan a migration,
    ``apply_roles`` may apply one; with ``separate_duties`` the actor who planned it may
    not apply it. ``upcaster`` rewrites the data (none: the data is kept as it is).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    from_version: int = Field(ge=1)
    state_map: Mapping[str, str] = Field(min_length=1)
    upcaster: DataUpcaster | None = None
    plan_roles: tuple[str, ...] = Field(min_length=1)
    apply_roles: tuple[str, ...] = Field(min_length=1)
    separate_duties: bool = True
    description: str = ""


class WorkingCalendar(BaseModel):
    """Which days are working days: not a ``weekend`` day (ISO weekday numbers, 1 = Monday
    to 7 = Sunday) and not one of the public ``holidays``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekend: tuple[int, ...] = (6, 7)
    holidays: tuple[date, ...] = ()
    description: str = ""

    def is_working(self, day: date) -> bool:
        """Whether ``day`` is a working day."""
        return day.isoweekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` moved on by ``days`` working days, at the same time of day (the day of
        ``start`` itself does not count). Needs at least one working weekday."""
        return start + timedelta(days=_offset(self.weekend, self.holidays, start.date(), days))


@lru_cache(maxsize=8192)
def _offset(weekend: tuple[int, ...], holidays: tuple[date, ...], start: date, days: int) -> int:
    """Calendar days from ``start`` to ``days`` working days later (cached: every command
    entering a state with working-day deadlines asks it)."""
    day, offset, left = start, 0, days
    while left > 0 and len(set(weekend)) < 7:  # a week with no working day: never
        day += timedelta(days=1)
        offset += 1
        if day.isoweekday() not in weekend and day not in holidays:
            left -= 1
    return offset


DEFAULT_CALENDAR = WorkingCalendar()
"""Saturday and Sunday off, no holidays: working days without a named calendar."""


class DeadlineDef(BaseModel):
    """A deadline of a state, measured from entering it: ``days`` calendar days, or working
    days (``working_days``, with the named ``calendar`` of the definition, else Saturday and
    Sunday off). When it falls due the engine records, as its ``system`` actor:

    * ``escalate``: an ``Escalated`` event naming the ``role`` to act and the ``level``;
    * ``remind``: the same, without a level;
    * ``fire``: the transition ``trigger`` from this state, with ``payload``.

    ``reason`` is recorded with it. Leaving the state first cancels it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    days: int
    working_days: bool = False
    calendar: str | None = None
    action: Literal["escalate", "remind", "fire"]
    role: str | None = None
    trigger: str | None = None
    level: int = 1
    payload: Mapping[str, Any] = Field(default_factory=dict)
    reason: str = ""
    description: str = ""

    def due(self, entered: datetime, calendars: Mapping[str, WorkingCalendar]) -> datetime:
        """When this deadline falls due for a state entered at ``entered``."""
        if not self.working_days:
            return entered + timedelta(days=self.days)
        calendar = calendars[self.calendar] if self.calendar else DEFAULT_CALENDAR
        return calendar.add_working_days(entered, self.days)


class StateDef(BaseModel):
    """A state: ``final`` states end the workflow; ``sla_days`` bounds time spent in it;
    ``deadlines`` fall due after entering it (and are cancelled by leaving it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    final: bool = False
    sla_days: int | None = Field(default=None, gt=0)
    description: str = ""
    deadlines: tuple[DeadlineDef, ...] = ()


class TransitionDef(BaseModel):
    """A transition.

    An empty ``source`` marks a *start* transition (it creates the instance). Internal
    transitions record a fact without leaving their state (``dest`` is the source).
    ``separation`` names triggers or roles: an actor who fired one of those triggers, or
    acted in one of those roles, on this instance may not fire this one.
    ``collect_as`` appends each payload to a list in ``data`` instead of merging it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    trigger: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    source: tuple[str, ...] = ()
    dest: str | None = None
    roles: tuple[str, ...] = Field(min_length=1)
    guards: tuple[str, ...] = ()
    payload: type[BaseModel] = EmptyPayload
    separation: tuple[str, ...] = ()
    internal: bool = False
    reason_required: bool = False
    collect_as: str | None = None
    description: str = ""

    @property
    def is_start(self) -> bool:
        """True for a transition that creates an instance."""
        return not self.source

    def dest_from(self, source: str) -> str:
        """The state this transition leads to when fired from ``source``."""
        return source if self.internal or self.dest is None else self.dest


class DisplayFact(BaseModel):
    """How a front end labels and formats one key of an instance's ``data``.

    ``kind`` is ``text`` (a scalar as it is; a list joined with commas), ``count`` (how
    many items a list holds; with ``total``, plus the sum of that integer key of the items,
    followed by ``unit``) or ``record`` (a mapping: its ``parts`` keys joined with `` · ``,
    the ``aside`` key in parentheses after the first part; a plain string as it is).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1)
    label: str = ""
    kind: Literal["text", "count", "record"] = "text"
    parts: tuple[str, ...] = ()
    aside: str | None = None
    total: str | None = None
    unit: str = ""

    @property
    def title(self) -> str:
        """The label, or the key when no label is given."""
        return self.label or self.key


class DisplaySpec(BaseModel):
    """Display hints of a workflow: the key facts a front end shows, in order.

    Presentation only: it stays out of the definition's content hash, so labels can change
    without re-pinning stored instances.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    facts: tuple[DisplayFact, ...] = ()


class WorkflowDefinition(BaseModel):
    """A versioned workflow: states, transitions, roles, guards and settings.

    ``settings`` holds configurable figures (caps, thresholds) that guards read through
    their context; they are part of the content hash. ``display`` (labels for front ends)
    is not. ``migrations`` says how instances of older versions may move to this one
    (docs/versions.md). ``calendars`` are the working calendars deadlines may name, by a
    code such as a country's (``"BE"``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_-]*$")
    version: int = Field(ge=1)
    title: str = ""
    description: str = ""
    roles: tuple[str, ...] = ()
    states: tuple[StateDef, ...]
    transitions: tuple[TransitionDef, ...]
    guards: tuple[Guard, ...] = ()
    settings: Mapping[str, Any] = Field(default_factory=dict)
    migrations: tuple[MigrationDef, ...] = ()
    calendars: Mapping[str, WorkingCalendar] = Field(default_factory=dict)
    audit: AuditPolicy | None = None
    """Corrections, evidence, notes and effective time (:mod:`engine.definition.audit_policy`)."""
    display: DisplaySpec = DisplaySpec()

    @property
    def key(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def state(self, name: str) -> StateDef:
        """The state called ``name`` (``KeyError`` if absent)."""
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    def migration_from(self, version: int) -> MigrationDef | None:
        """The declared migration from ``version`` to this definition, if any."""
        return next((m for m in self.migrations if m.from_version == version), None)

    def guard_functions(self) -> dict[str, Guard]:
        """The registered guards by name."""
        return {g.name: g for g in self.guards}

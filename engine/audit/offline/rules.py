"""A workflow's rules, checked against a recorded history alone (standard library only).

The engine decides each command against the instance's state, then records it as an event;
someone with write access to the database can record anything, with correct hashes (the
hash is not keyed). So verification also checks *meaning*: every event, in version order,
must be a step the instance's definition (:class:`~.definition.Rules`) allows from the
state its history reached, fired in an allowed role, by an actor that separation of duties
does not exclude (computed from the history, never from stored snapshots).

Guards are not re-run (they may read data that changes later, and they are host code); the
results they recorded must be one pass per guard of the step, at the definition's guard
versions. A failed guard is never recorded by the engine.

Deadlines too are checked from the history alone: entering a state must schedule exactly
the deadlines its definition declares (ids and due times recomputed from the event's own
time), leaving it must cancel the open ones, and a step recorded by the ``system`` actor
(a fired transition or an ``Escalated`` event) must name a deadline that was open, due at
its time, and that fires this trigger; the system actor records nothing else.
"""

# long module: the step rules and the deadline rules read the same Track and Event, and
# the offline verifier is copied as a folder; one module keeps the rules of a step together.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from .definition import START_STATE, Rules, Step

__all__ = [
    "ESCALATED_TOPIC",
    "MIGRATED_TOPIC",
    "RULES",
    "STARTED_TOPIC",
    "TRANSITIONED_TOPIC",
    "Event",
    "Finding",
    "Track",
    "check_step",
    "recorded_guards",
]

STARTED_TOPIC = "socieux.instance:Started"
TRANSITIONED_TOPIC = "socieux.instance:Transitioned"
MIGRATED_TOPIC = "socieux.instance:Migrated"
ESCALATED_TOPIC = "socieux.instance:Escalated"
AMENDMENT_TOPICS = frozenset({
    "socieux.instance:Corrected", "socieux.instance:CorrectionApproved",
    "socieux.instance:EvidenceAttached", "socieux.instance:Noted",
})  # fmt: skip
"""Corrections, approvals, evidence and notes: judged by :mod:`.amendment_rules`."""
STEP_TOPICS = (TRANSITIONED_TOPIC, MIGRATED_TOPIC, ESCALATED_TOPIC, *sorted(AMENDMENT_TOPICS))
SYSTEM_ROLE = "system"
RULES = (
    "first_event",
    "source",
    "trigger",
    "dest",
    "role",
    "separation",
    "collect_as",
    "guards",
    "reason",
    "definition",
    "migration",
    "deadline",
    "system",
    "amendment",
    "effective",
)
"""The rules a breach is reported under."""

Finding = tuple[str, str]
"""``(rule, detail)``: one breach by one event."""


def _text(value: object) -> str | None:
    return value if type(value) is str else None


class Event(NamedTuple):
    """The fields of one recorded event that the rules read (a wrong type reads as absent)."""

    topic: str | None
    trigger: str | None
    source: str | None
    dest: str | None
    definition_hash: str | None
    collect_as: object
    actor: str | None
    role: str | None
    reason: object
    guards: object
    pinned: tuple[object, object]
    migration: Mapping[str, object] | None
    at: str | None = None
    deadlines: Mapping[str, object] | None = None
    """What the event cancels and schedules (``cancel``, ``schedule``), if it says."""
    deadline: Mapping[str, object] | None = None
    """The due deadline the system actor recorded the event for, if any."""

    @classmethod
    def of(cls, fields: Mapping[str, object]) -> Event:
        """Read the fields of a hashed event object."""
        get = fields.get
        audit = get("audit")
        a: Mapping[str, object] = audit if isinstance(audit, dict) else {}
        return cls(
            _text(get("topic")),
            _text(get("trigger")),
            _text(get("source")),
            _text(get("dest")),
            _text(get("definition_hash")),
            get("collect_as"),
            _text(a.get("actor_id")),
            _text(a.get("role")),
            a.get("reason"),
            a.get("guards"),
            (get("workflow"), get("definition_version")),
            m if isinstance(m := get("migration"), dict) else None,
            _text(get("timestamp")),
            d if isinstance(d := get("deadlines"), dict) else None,
            f if isinstance(f := get("deadline"), dict) else None,
        )


@dataclass(slots=True)
class Track:
    """What the rules remember of one instance's history: the definition it pinned, where it
    is (``known`` is false after a gap or an unreadable event), who fired what, as what."""

    version: int = 0
    known: bool = True
    state: str | None = None
    definition: str | None = None
    rules: Rules | None = None
    fired_by: dict[str, set[str]] = field(default_factory=dict)
    acted_as: dict[str, set[str]] = field(default_factory=dict)
    open: dict[str, Mapping[str, object]] = field(default_factory=dict)
    """The open deadlines by id, as the recorded events scheduled and closed them."""
    entered: str | None = None
    """When the current state was entered (the entering event's recorded time)."""
    began: str | None = None
    """The instance's effective start (its first event's effective time), if seen."""

    @property
    def fresh(self) -> bool:
        """No event yet: the next one must start the instance."""
        return self.version == 0 and self.known

    def advance(self, ev: Event, version: int) -> None:
        """Apply ``ev`` as replay does: the state becomes its recorded ``dest``."""
        if ev.topic == STARTED_TOPIC or self.version == 0 or ev.dest != self.state:
            self.entered = ev.at if isinstance(ev.at, str) else None
        self.state, self.known, self.version = ev.dest, ev.dest is not None, version
        self._deadlines(ev)
        if ev.topic == ESCALATED_TOPIC or ev.topic in AMENDMENT_TOPICS:
            return  # neither fires a trigger nor acts in a role for separation of duties
        if ev.actor is not None:
            if ev.trigger is not None:
                self.fired_by.setdefault(ev.trigger, set()).add(ev.actor)
            if ev.role is not None:
                self.acted_as.setdefault(ev.role, set()).add(ev.actor)

    def _deadlines(self, ev: Event) -> None:
        if ev.deadline is not None:
            self.open.pop(str(ev.deadline.get("id")), None)
        changes = ev.deadlines or {}
        cancel, schedule = changes.get("cancel", []), changes.get("schedule", [])
        for did in cancel if isinstance(cancel, list) else ():
            self.open.pop(str(did), None)
        for entry in schedule if isinstance(schedule, list) else ():
            if isinstance(entry, dict):
                self.open[str(entry.get("id"))] = entry


def _short(digest: str | None) -> str:
    return f"{digest[:12]}…" if digest else "none"


def _order(before: Track, ev: Event, version: int) -> list[Finding]:
    """A start first and only first; each source where the previous step led."""
    if before.fresh:
        out: list[Finding] = []
        if ev.topic != STARTED_TOPIC:
            out.append(("first_event", f"the first event is a {ev.topic!r}, not a start"))
        if ev.source is not None:
            out.append(("first_event", f"a start has no source; this one names {ev.source!r}"))
        return out
    if ev.topic == STARTED_TOPIC:
        return [("first_event", f"a start at version {version}: only version 1 starts")]
    if ev.topic not in STEP_TOPICS:
        return [("first_event", f"an event of topic {ev.topic!r}")]
    if before.known and ev.source != before.state:
        return [("source", f"its source is {ev.source!r}, but the instance was {before.state!r}")]
    return []


def _pinned(before: Track, ev: Event) -> list[Finding]:
    """One definition for the whole instance, the one its start names."""
    out: list[Finding] = []
    moved = ev.topic == MIGRATED_TOPIC  # its own rules (check_migration) judge the new pin
    if before.definition is not None and ev.definition_hash != before.definition and not moved:
        started = _short(before.definition)
        out.append(("definition", f"pins {_short(ev.definition_hash)}; it started on {started}"))
    r = before.rules
    if r is not None and ev.topic == STARTED_TOPIC and ev.pinned != (r.name, r.version):
        name, version = ev.pinned
        out.append(
            ("definition", f"names {name}@{version}; its definition is {r.name}@{r.version}")
        )
    return out


def _separation(before: Track, ev: Event, step: Step) -> list[Finding]:
    """Nobody fires a step separated from a trigger they fired, or a role they acted in."""
    for name in step.separation if ev.actor is not None else ():
        if ev.actor in before.fired_by.get(name, ()):
            did = f"fired {name!r}"
        elif ev.actor in before.acted_as.get(name, ()):
            did = f"acted as {name!r}"
        else:
            continue
        return [
            ("separation", f"{ev.actor!r} {did} on this instance, so may not fire {step.trigger!r}")
        ]
    return []


def _recorded(ev: Event, step: Step) -> bool:
    """The happy path: one passing result per guard of the step, in order, at its version."""
    recorded = ev.guards
    if type(recorded) is not list or len(recorded) != len(step.guards):
        return False
    for g, (name, version) in zip(recorded, step.guards, strict=True):
        if type(g) is not dict or g.get("ok") is not True:
            return False
        if g.get("name") != name or g.get("version") != version:
            return False
    return True


def recorded_guards(ev: Event, step: Step) -> list[Finding]:
    """The breaches of the guard results ``ev`` records for ``step`` (none on the happy path)."""
    if _recorded(ev, step):
        return []
    recorded = ev.guards if isinstance(ev.guards, list) else []
    results = [g if isinstance(g, dict) else {} for g in recorded]
    out: list[Finding] = []
    if [(g.get("name"), g.get("version")) for g in results] != list(step.guards):
        want = ", ".join(f"{n} v{v}" for n, v in step.guards) or "none"
        got = ", ".join(f"{g.get('name')} v{g.get('version')}" for g in results) or "none"
        out.append(("guards", f"{step.trigger!r} runs [{want}]; the event records [{got}]"))
    out += [
        ("guards", f"guard {g.get('name')!r} is recorded as failed ({g.get('reason')!r})")
        for g in results
        if g.get("ok") is not True
    ]
    return out


def _step(before: Track, ev: Event, step: Step, origin: str) -> list[Finding]:
    """The rules of the transition the event fired."""
    out: list[Finding] = []
    expected = step.dest_from(origin)
    if ev.dest != expected:
        out.append(
            ("dest", f"{step.trigger!r} from {origin!r} leads to {expected!r}, not {ev.dest!r}")
        )
    if ev.role not in step.roles:
        why = f"role {ev.role!r} may not fire {step.trigger!r} (allowed: {', '.join(step.roles)})"
        out.append(("role", why))
    out += _separation(before, ev, step)
    if ev.collect_as != step.collect_as:
        why = f"{step.trigger!r} collects as {step.collect_as!r}; the event says {ev.collect_as!r}"
        out.append(("collect_as", why))
    out += recorded_guards(ev, step)
    if step.reason_required and not (isinstance(ev.reason, str) and ev.reason.strip()):
        out.append(("reason", f"{step.trigger!r} requires a reason; none is recorded"))
    return out


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _fired(before: Track, ev: Event) -> list[Finding]:
    """A step the system recorded for a deadline: open, due, the one that fires it."""
    fired = ev.deadline
    if fired is None:
        if ev.role == SYSTEM_ROLE or ev.topic == ESCALATED_TOPIC:
            return [("system", f"{ev.trigger!r} is recorded as the system actor, but for no "
                     "due deadline")]  # fmt: skip
        return []
    did = str(fired.get("id"))
    entry = before.open.get(did)
    if entry is None:
        return [("deadline", f"it records deadline {did!r}, which is not open here")]
    out: list[Finding] = []
    if ev.role != SYSTEM_ROLE or ev.actor != SYSTEM_ROLE:
        out.append(("system", f"deadline {did!r} is recorded by {ev.actor!r} ({ev.role!r}), "
                    "not by the system actor"))  # fmt: skip
    due, at = _when(entry.get("due_at")), _when(ev.at)
    if fired.get("due_at") != entry.get("due_at"):
        out.append(("deadline", f"it says {did!r} was due {fired.get('due_at')}, but it was "
                    f"scheduled for {entry.get('due_at')}"))  # fmt: skip
    elif due is None or at is None or at < due:
        out.append(("deadline", f"deadline {did!r} is recorded at {ev.at}, before it was due "
                    f"({entry.get('due_at')})"))  # fmt: skip
    action = entry.get("action")
    if ev.topic == ESCALATED_TOPIC:
        expected = f"__{action}__" if action in {"escalate", "remind"} else None
        if ev.trigger != expected or fired.get("role") != entry.get("role"):
            out.append(("deadline", f"an Escalated event for {action!r} deadline {did!r} "
                        f"records {ev.trigger!r} for role {fired.get('role')!r}"))  # fmt: skip
        if ev.dest != before.state:
            out.append(("dest", f"an Escalated event stays in {before.state!r}, not {ev.dest!r}"))
    elif action != "fire" or ev.trigger != entry.get("trigger"):
        out.append(("deadline", f"deadline {did!r} fires {entry.get('trigger')!r} "
                    f"({action}), not {ev.trigger!r}"))  # fmt: skip
    return out


def _scheduled(before: Track, ev: Event, version: int) -> list[Finding]:
    """Leaving a state cancels its open deadlines; entering one schedules its own."""
    if ev.topic == ESCALATED_TOPIC:
        return [] if ev.deadlines is None else [("deadline", "an Escalated event schedules")]
    moved = before.fresh or ev.topic == STARTED_TOPIC or ev.dest != before.state
    fired = str(ev.deadline.get("id")) if ev.deadline is not None else None
    recorded = dict(ev.deadlines or {})
    cancel = sorted(i for i in before.open if i != fired) if moved else []
    out: list[Finding] = []
    if recorded.get("cancel", []) != cancel:
        out.append(("deadline", f"it cancels {recorded.get('cancel', [])}; leaving "
                    f"{before.state!r} cancels {cancel}"))  # fmt: skip
    r, at = before.rules, _when(ev.at)
    if r is None or at is None or not moved or ev.dest is None:
        return out
    expected = [d.entry(version, at, r.calendars) for d in r.deadlines.get(ev.dest, ())]
    schedule = recorded.get("schedule", [])
    if schedule != expected:
        listed = schedule if isinstance(schedule, list) else [schedule]
        got = [e.get("id") if isinstance(e, dict) else e for e in listed]
        want = [e["id"] for e in expected]
        out.append(("deadline", f"entering {ev.dest!r} schedules {want} (as the definition "
                    f"says, due from {ev.at}); the event schedules {got}"))  # fmt: skip
    return out


def check_deadlines(before: Track, ev: Event, version: int) -> list[Finding]:
    """The deadline rules of a start, a step or an escalation (not of a migration)."""
    if before.known or before.fresh:
        return _fired(before, ev) + _scheduled(before, ev, version)
    return []


def check_step(before: Track, ev: Event, version: int) -> list[Finding]:
    """Every rule that event ``ev`` (at ``version``) breaks, given the history ``before`` it.

    ``before.rules`` is the instance's definition; when it is unknown, only the rules that
    need no definition (order, source, one definition hash) are checked.
    """
    out = _order(before, ev, version) + _pinned(before, ev)
    rules = before.rules
    if ev.topic != MIGRATED_TOPIC:
        out += check_deadlines(before, ev, version)
    if rules is None or ev.topic in {MIGRATED_TOPIC, ESCALATED_TOPIC} | AMENDMENT_TOPICS:
        return out
    fresh_or_start = before.fresh or ev.topic == STARTED_TOPIC
    origin = START_STATE if fresh_or_start else before.state if before.known else ev.source
    step = rules.step(origin, ev.trigger)
    if step is None or origin is None:
        where = "as a start" if origin == START_STATE else f"from {origin!r}"
        out.append(("trigger", f"no {ev.trigger!r} {where} (allowed: {rules.allowed(origin)})"))
        return out
    return out + _step(before, ev, step, origin)

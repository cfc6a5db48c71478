"""Deciding a command: access rules, payload, then the guards, from a compiled table.

Each registered definition version is compiled once into a :class:`CompiledWorkflow`
holding one shared ``transitions.Machine(model=None, auto_transitions=False)`` (the
definition's machine, which the diagrams draw) and a table of its transitions by state
and trigger. A command is decided from the table: the transition for the state and
trigger, all of its guards run, and the destination the machine would reach (its
``dest``, or the same state for an internal transition). That is exactly what a guarded
dry run on the machine gives (a property test checks it on random definitions), without
the machine's per-trigger event machinery; the aggregate is never bound to a machine.
The order of checks is fixed:
the actor's role must be one the definition declares (``InvalidArgument``), the trigger
must exist from the current state, the role must be allowed to fire it, then separation
of duties, then the reason and the payload, then the guards.

Separation of duties compares people, not spellings: the actor's id and every id in the
instance's history are compared by :func:`engine.instance.identity.actor_key`.
"""

# long module: the whole decision of one command, in the order it runs (role, trigger,
# access, payload, guards); splitting it would scatter one sequence over files.

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json, to_jsonable_python
from transitions import Machine

from engine.definition.content import content_hash
from engine.definition.diagrams import machine_spec
from engine.definition.model import (
    START_STATE,
    SYSTEM_ROLE,
    DeadlineDef,
    Guard,
    GuardContext,
    GuardResult,
    TransitionDef,
    WorkflowDefinition,
)
from engine.definition.validation import validate
from engine.errors import (
    GuardRejected,
    InvalidArgument,
    InvalidPayload,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownTrigger,
)
from engine.instance.hashing import storable_text, utc_iso
from engine.instance.identity import actor_key
from engine.instance.views import Actor, InstanceView
from engine.logs import get_logger

__all__ = [
    "MAX_REASON_LENGTH",
    "CompiledWorkflow",
    "Decision",
    "jsonable_inputs",
    "unstorable_texts",
]

MAX_REASON_LENGTH = 4000
_log = get_logger("socieux.engine")


@dataclass(frozen=True, slots=True)
class Decision:
    """A command that may be recorded: where it leads and what the guards found."""

    transition: TransitionDef
    source: str | None
    dest: str
    payload: dict[str, Any]
    guards: list[dict[str, Any]]


_UNSTORABLE = "text must be valid Unicode without NUL characters"
_OK = itemgetter("ok")


def _surely_storable(value: Any) -> bool:
    """True only if :func:`unstorable_texts` finds nothing in ``value`` (one serialisation
    by pydantic-core's ``to_json``, compiled code several times cheaper per byte than
    ``json.dumps``; ``False`` means "walk it"). Every string and key the walk checks is in
    the JSON (dict, list and str subclasses too; anything else as its ``repr``, which the
    walk does not look into either): a NUL as ``\\u0000`` (any such spelling makes it
    walk); a lone surrogate cannot be encoded, which fails the serialisation: walk it."""
    try:
        text = to_json(value, fallback=repr)
    except Exception:  # a lone surrogate, a cycle, a key it cannot write: walk it
        return False
    return b"\\u0000" not in text


def unstorable_texts(value: Any, loc: tuple[Any, ...] = ()) -> list[list[Any]]:
    """Where in the payload a key or a string is not storable text."""
    if _surely_storable(value):
        return []
    return _unstorable_walk(value, loc)


def _unstorable_walk(value: Any, loc: tuple[Any, ...]) -> list[list[Any]]:
    found: list[list[Any]] = []
    if isinstance(value, str):
        if not storable_text(value):
            found.append(list(loc))
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and not storable_text(k):
                found.append([*loc, "(key)"])
            found += _unstorable_walk(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _unstorable_walk(v, (*loc, i))
    return found


_SCALARS = frozenset({str, int, bool, type(None)})


def jsonable_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``to_jsonable_python(dict(inputs), fallback=str)``: what a guard's inputs record.

    Inputs of plain strings, integers, booleans and ``None`` (or lists of them) under
    string keys, the usual case, are already that: copied here (lists too) without the
    serializer's per-call set-up; anything else goes through it."""
    out = dict(inputs)
    for key, value in out.items():
        kind = type(value)
        if type(key) is not str:
            return to_jsonable_python(dict(inputs), fallback=str)  # type: ignore[no-any-return]
        if kind in _SCALARS:
            continue
        if kind is list and _SCALARS.issuperset(map(type, value)):
            out[key] = list(value)
            continue
        return to_jsonable_python(dict(inputs), fallback=str)  # type: ignore[no-any-return]
    return out


def _run_guard(guard: Guard, ctx: GuardContext) -> dict[str, Any]:
    """Run one guard; a guard that raises refuses, and only its exception's type is kept.

    The exception's message and traceback (whose locals hold the payload) may carry
    personal data: they reach neither the log nor the recorded result. The failure is
    logged after the ``except`` block, so no handler can find the exception being handled.
    """
    try:
        result = guard.func(ctx)
        if not isinstance(result, GuardResult) or not isinstance(result.ok, bool):
            msg = f"guard returned {type(result).__name__}, not GuardResult(ok: bool)"
            raise TypeError(msg)
        inputs = jsonable_inputs(result.inputs)
    except Exception as exc:  # a broken guard refuses; it never crashes the command
        error = type(exc).__name__
    else:  # what _outcome builds, inline (one call less per guard)
        return {"name": guard.name, "version": guard.version, "ok": result.ok,
                "reason": result.reason, "inputs": inputs}  # fmt: skip
    _log.error("guard_failed", guard=guard.name, trigger=ctx.trigger, error=error)
    return _outcome(guard, ok=False, reason=f"guard error: {error}", inputs={})


def _outcome(guard: Guard, *, ok: bool, reason: str, inputs: Any) -> dict[str, Any]:
    return {"name": guard.name, "version": guard.version, "ok": ok, "reason": reason,
            "inputs": inputs}  # fmt: skip


def _check_separation(view: InstanceView, t: TransitionDef, actor: Actor) -> None:
    """``PermissionDenied`` if the actor fired, or acted in, a trigger or role ``t`` keeps
    apart. Ids are compared by key, also those recorded before ids were canonical."""
    me = actor_key(actor.id)
    for name in t.separation:
        if any(actor_key(who) == me for who in view.fired_by.get(name, ())):
            reason = f"separation of duties: the same actor fired {name!r} on this instance"
            raise PermissionDenied(t.trigger, actor.role, actor.id, "separation", reason)
        if any(actor_key(who) == me for who in view.acted_as.get(name, ())):
            reason = f"separation of duties: the same actor acted as {name!r} here"
            raise PermissionDenied(t.trigger, actor.role, actor.id, "separation", reason)


def _facts(d: DeadlineDef) -> dict[str, Any]:
    """What a scheduled deadline records besides its id and due time."""
    facts: dict[str, Any] = {"name": d.name, "action": d.action}
    if d.action == "fire":
        facts["trigger"] = d.trigger
    else:
        facts["role"] = d.role
    if d.action == "escalate":
        facts["level"] = d.level
    return facts


class CompiledWorkflow:
    """A validated definition with its content hash and its shared machine."""

    def __init__(self, definition: WorkflowDefinition) -> None:
        validate(definition)
        self.definition = definition
        self.hash = content_hash(definition)
        self.roles = frozenset(definition.roles).union(*(t.roles for t in definition.transitions))
        """The roles this definition declares (or, declaring none, that its transitions name)."""
        self.final_states = frozenset(s.name for s in definition.states if s.final)
        self.sla_days = {s.name: s.sla_days for s in definition.states if s.sla_days}
        self.triggers = frozenset(t.trigger for t in definition.transitions)
        """Every trigger the definition has (from any state)."""
        self.deadlines = {s.name: s.deadlines for s in definition.states if s.deadlines}
        """The deadlines each state declares (states without any are absent)."""
        self._facts = {(s, d.name): _facts(d) for s, ds in self.deadlines.items() for d in ds}
        self._table: dict[str, dict[str, TransitionDef]] = {}
        for t in definition.transitions:
            for src in t.source or (START_STATE,):
                self._table.setdefault(src, {})[t.trigger] = t
        functions = definition.guard_functions()
        self._guards: dict[tuple[str, str], tuple[Guard, ...]] = {
            (src, trigger): tuple(functions[g] for g in t.guards)
            for src, by_trigger in self._table.items()
            for trigger, t in by_trigger.items()
        }
        """The guard functions of the transition for each (state, trigger), in order."""
        states, specs = machine_spec(definition)
        self.machine = Machine(
            model=None,
            states=states,
            transitions=specs,
            initial=START_STATE,
            auto_transitions=False,
        )
        """The definition's ``transitions`` machine (``model=None``, no conditions): what
        the diagrams draw. Commands are decided from the compiled table, which gives what a
        guarded dry run on this machine gives (tests/property/test_compiled_table.py)."""

    @property
    def name(self) -> str:
        """The workflow's name."""
        return self.definition.name

    def start_triggers(self) -> list[str]:
        """Triggers that create an instance."""
        return list(self._table.get(START_STATE, {}))

    def triggers_from(self, state: str) -> list[str]:
        """Triggers defined from ``state`` (before roles and guards)."""
        return list(self._table.get(state, {}))

    def transition(self, state: str, trigger: str) -> TransitionDef:
        """The transition for ``trigger`` from ``state``; ``UnknownTrigger`` if no transition
        has it, ``TransitionNotAllowed`` if it exists but not from ``state``."""
        try:
            return self._table[state][trigger]
        except KeyError:
            allowed = self.triggers_from(state)
            if trigger not in self.triggers:
                raise UnknownTrigger(state, trigger, allowed, self.name) from None
            raise TransitionNotAllowed(state, trigger, allowed) from None

    def check_role(self, actor: Actor) -> None:
        """``InvalidArgument`` (listing the known roles) if this definition does not declare
        ``actor.role``: a misspelt role is a bad call, not a refusal."""
        if actor.role not in self.roles:
            known = sorted(self.roles)
            raise InvalidArgument(
                f"role {actor.role!r} is not a role of workflow {self.name!r}"
                f" (known roles: {', '.join(known)})",
                role=actor.role,
                workflow=self.name,
                known=known,
            )

    def check_access(
        self, view: InstanceView, trigger: str, actor: Actor, *, system: bool = False
    ) -> TransitionDef:
        """Role declared, trigger exists from the state, role allowed for it, separation of
        duties respected (the same person, however their id is spelt, in any role). The
        role ``system`` is the engine's own: only a due deadline (``system``) acts in it."""
        if actor.role == SYSTEM_ROLE and not system:
            why = f"only the engine's due deadlines act in the role {SYSTEM_ROLE!r}"
            raise PermissionDenied(trigger, actor.role, actor.id, "system", why)
        self.check_role(actor)
        t = self.transition(view.state, trigger)
        if actor.role not in t.roles:
            reason = f"role {actor.role!r} may not fire it (allowed: {', '.join(t.roles)})"
            raise PermissionDenied(trigger, actor.role, actor.id, "role", reason)
        if t.separation:
            _check_separation(view, t, actor)
        return t

    def validate_payload(self, t: TransitionDef, data: Any, reason: str | None) -> BaseModel:
        """Check the reason rule and validate ``data`` against the payload model."""
        problems: list[dict[str, Any]] = []
        if t.reason_required and not (reason and reason.strip()):
            problems.append({"loc": ["reason"], "msg": "a reason is required", "type": "missing"})
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            problems.append({"loc": ["reason"], "msg": "reason is too long", "type": "too_long"})
        elif reason is not None and not storable_text(reason):
            problems.append({"loc": ["reason"], "msg": _UNSTORABLE, "type": "string_unicode"})
        if data is None:
            data = {}
        if type(data) is not dict and not isinstance(data, Mapping):  # dict: no ABC check
            problems.append({"loc": [], "msg": "payload must be a JSON object", "type": "type"})
            raise InvalidPayload(t.trigger, problems)
        try:
            model = t.payload.model_validate(data)
            # Walk the input, not a dump of the model: the decision dumps it once, later.
            unstorable = unstorable_texts(data)
        except ValidationError as exc:
            problems += [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False, include_context=False)
            ]
            raise InvalidPayload(t.trigger, problems) from None
        except (TypeError, ValueError, RecursionError) as exc:
            problems.append({"loc": [], "msg": f"unreadable payload: {exc}", "type": "value"})
            raise InvalidPayload(t.trigger, problems) from None
        problems += [
            {"loc": loc, "msg": _UNSTORABLE, "type": "string_unicode"} for loc in unstorable
        ]
        if problems:
            raise InvalidPayload(t.trigger, problems)
        return model

    def run_guards(
        self, view: InstanceView, t: TransitionDef, payload: BaseModel, actor: Actor, now: datetime
    ) -> Decision:
        """Run every guard of ``t`` (all of them, each result kept); ``GuardRejected`` if
        any fails. The destination is the table's: ``t.dest``, or the state itself for an
        internal transition (what the machine's guarded dry run gives)."""
        table = self._table.get(view.state, {}).get(t.trigger)
        if table is None:  # cannot happen after check_access; keep the contract anyway
            raise TransitionNotAllowed(view.state, t.trigger, self.triggers_from(view.state))
        guards = self._guards[view.state, t.trigger]
        results: list[dict[str, Any]] = []
        if guards:
            ctx = GuardContext(
                view=view,
                payload=payload,
                actor=actor,
                trigger=t.trigger,
                now=now,
                settings=self.definition.settings,
            )
            results = [_run_guard(g, ctx) for g in guards]
            if not all(map(_OK, results)):
                raise GuardRejected(t.trigger, [r for r in results if not r["ok"]])
        source = None if view.state == START_STATE else view.state
        dest = table.dest_from(view.state)
        return Decision(t, source, dest, payload.model_dump(mode="json"), results)

    def decide(
        self,
        view: InstanceView,
        trigger: str,
        actor: Actor,
        data: Any,
        *,
        reason: str | None,
        now: datetime,
        system: bool = False,
    ) -> Decision:
        """Decide a command against ``view``; raises the precise typed error if refused
        (``system``: a due deadline fires it, as the engine's system actor)."""
        t = self.check_access(view, trigger, actor, system=system)
        payload = self.validate_payload(t, data, reason)
        return self.run_guards(view, t, payload, actor, now)

    def deadline_changes(  # noqa: PLR0917 - the step's own facts, each one needed
        self,
        open_ids: Iterable[str],
        source: str | None,
        dest: str,
        at: datetime,
        version: int,
        fired: str | None = None,
    ) -> dict[str, Any] | None:
        """What a step at ``version``, recorded at ``at``, does to deadlines (``None``:
        nothing). Leaving a state cancels its open deadlines (but ``fired``, which the step
        closes itself); entering one (a start, or a step to another state) schedules its
        deadlines, each with the id ``<version>:<name>`` and its due time from ``at``."""
        if source is not None and source == dest:
            return None
        out: dict[str, Any] = {}
        if cancel := sorted(i for i in open_ids if i != fired):
            out["cancel"] = cancel
        if declared := self.deadlines.get(dest, ()):
            utc = at.astimezone(UTC)
            out["schedule"] = [self._entry(dest, d, utc, version) for d in declared]
        return out or None

    def _entry(self, state: str, d: DeadlineDef, at: datetime, version: int) -> dict[str, Any]:
        due = utc_iso(d.due(at, self.definition.calendars))
        return {"id": f"{version}:{d.name}", **self._facts[state, d.name], "due_at": due}

    def deadline(self, state: str, name: str) -> DeadlineDef | None:
        """The deadline ``name`` of ``state``, if this definition declares it."""
        return next((d for d in self.deadlines.get(state, ()) if d.name == name), None)

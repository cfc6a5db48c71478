"""Recording one due deadline as the engine's ``system`` actor, at most once.

The instance is loaded fresh from the store and the deadline must still be open in it
(the aggregate's open deadlines, replayed from the events). A ``fire`` deadline is decided
like any command (state, role ``system``, separation, payload, guards) and recorded as the
named transition with ``deadline: {id, due_at}`` in its hashed body; ``escalate`` and
``remind`` record an ``Escalated`` event that does not move the instance. The write is
the instance's next version: a concurrent writer (another worker firing the same deadline,
or a user's command) makes it fail, and the worker re-decides on the fresh state, where
the deadline is closed, or cancelled by the step that moved the instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from engine.commands.clock import command_time
from engine.commands.compiled import CompiledWorkflow
from engine.commands.service import MAX_ATTEMPTS, CommandService, step_body
from engine.deadlines.types import SYSTEM_ACTOR
from engine.errors import EngineError
from engine.instance.aggregate import WorkflowInstance, open_deadlines
from engine.instance.convert import view_of
from engine.logs import get_logger

__all__ = ["Outcome", "record_due"]

_log = get_logger("socieux.deadlines")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed deadline: ``fired`` (at ``version``, time ``at``),
    ``closed`` (already fired or cancelled), ``not_due``, ``blocked`` (``code``, ``reason``)
    or ``conflict`` (lost the race every time: left for a later run)."""

    kind: str
    version: int = 0
    at: datetime | None = None
    code: str = ""
    reason: str = ""
    action: str = ""
    due_at: str = ""


def record_due(
    commands: CommandService, iid: UUID, deadline_id: str, now: datetime, correlation_id: str
) -> list[tuple[str, Outcome]]:
    """Record deadline ``deadline_id`` of instance ``iid`` if it is open and due at ``now``,
    after the instance's open deadlines due before it (each instance's deadlines fire in
    due order, whichever worker claimed which); each one recorded or refused, by id."""
    done: list[tuple[str, Outcome]] = []
    skip: set[str] = set()
    while True:
        agg = commands.load(iid, fresh=True)
        found = open_deadlines(agg)
        target = found.get(deadline_id)
        if _had(done, deadline_id):  # recorded, or refused (then it is skipped)
            return done
        if target is None:  # fired or cancelled by another writer (or by an earlier fire)
            return [*done, (deadline_id, Outcome("closed"))]
        due = str(target["due_at"])
        if datetime.fromisoformat(due) > now:
            return [*done, (deadline_id, Outcome("not_due"))]
        first = min(
            (e for i, e in found.items() if str(e["due_at"]) <= due and i not in skip),
            key=lambda e: (str(e["due_at"]), str(e["id"])),
        )
        out = _record_one(commands, agg, first, now, correlation_id)
        done.append((str(first["id"]), out))
        if out.kind != "fired":
            skip.add(str(first["id"]))
        if out.kind == "conflict":
            return done


def _had(done: list[tuple[str, Outcome]], deadline_id: str) -> bool:
    return any(i == deadline_id for i, _ in done)


def _record_one(
    commands: CommandService,
    agg: WorkflowInstance,
    entry: Mapping[str, Any],
    now: datetime,
    correlation_id: str,
) -> Outcome:
    """Record ``entry`` on ``agg`` (re-deciding on fresh state after a lost race)."""
    did = str(entry["id"])
    for _attempt in range(MAX_ATTEMPTS):
        if did not in open_deadlines(agg):
            return Outcome("closed")
        at = command_time(lambda: now, agg.modified_on)
        compiled = commands.registry.by_hash(agg.definition_hash)
        try:
            _record(compiled, agg, open_deadlines(agg)[did], at, correlation_id)
        except EngineError as exc:
            reason = str(exc.details.get("reason") or exc.message)
            _log.warning("deadline_blocked", instance_id=str(agg.id), deadline=did, code=exc.code)
            return Outcome("blocked", code=exc.code, reason=reason)
        if commands.save_all([agg]):
            commands.cache.put(agg)
            _log.info(
                "deadline_recorded", instance_id=str(agg.id), deadline=did, version=agg.version
            )
            return Outcome(
                "fired", agg.version, at, action=str(entry["action"]), due_at=str(entry["due_at"])
            )
        commands.cache.evict(agg.id)
        agg = commands.load(agg.id, fresh=True)
    return Outcome("conflict")


def _record(
    compiled: CompiledWorkflow,
    agg: WorkflowInstance,
    entry: Mapping[str, Any],
    at: datetime,
    correlation_id: str,
) -> None:
    """Add the deadline's event to ``agg`` (pending); a refused transition raises."""
    declared = compiled.deadline(agg.state, str(entry["name"]))
    reason = (declared.reason if declared else "") or (
        f"deadline {entry['name']!r} fell due at {entry['due_at']}"
    )
    fired = {"id": str(entry["id"]), "due_at": str(entry["due_at"])}
    if entry["action"] != "fire":
        body = _escalation(agg, entry, reason, correlation_id)
        agg.escalate(at=at, body={**body, "deadline": {**fired, **_facts(entry)}})
        return
    view = view_of(agg, copy_data=False)
    payload = dict(declared.payload) if declared else {}
    decision = compiled.decide(
        view, str(entry["trigger"]), SYSTEM_ACTOR, payload, reason=reason, now=at, system=True
    )
    body = step_body(decision, compiled.hash, SYSTEM_ACTOR, reason, correlation_id, None)
    body["deadline"] = fired
    changes = compiled.deadline_changes(
        open_deadlines(agg), decision.source, decision.dest, at, agg.version + 1, fired["id"]
    )
    if changes is not None:
        body["deadlines"] = changes
    agg.step(at=at, body=body)


def _facts(entry: Mapping[str, Any]) -> dict[str, Any]:
    facts = {"name": entry["name"], "action": entry["action"], "role": entry.get("role")}
    if entry["action"] == "escalate":
        facts["level"] = entry.get("level")
    return facts


def _escalation(
    agg: WorkflowInstance, entry: Mapping[str, Any], reason: str, correlation_id: str
) -> dict[str, Any]:
    return {
        "trigger": f"__{entry['action']}__",
        "source": agg.state,
        "dest": agg.state,
        "payload": {},
        "definition_hash": agg.definition_hash,
        "collect_as": None,
        "audit": {
            "actor_id": SYSTEM_ACTOR.id,
            "role": SYSTEM_ACTOR.role,
            "reason": reason,
            "correlation_id": correlation_id,
            "causation_id": None,
            "guards": [],
        },
    }

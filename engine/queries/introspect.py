"""Turning events and decisions into the façade's read models (history, allowed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.commands.compiled import CompiledWorkflow
from engine.errors import EngineError, InvalidPayload
from engine.instance.aggregate import WorkflowInstance, recompute_hash
from engine.instance.amendments import CORRECT_TRIGGER
from engine.instance.views import (
    Actor,
    AllowedReport,
    GuardOutcome,
    HistoryEntry,
    InstanceView,
    Refusal,
)

__all__ = ["allowed_report", "amendment_fields", "history_entry", "link_corrections"]


def history_entry(event: WorkflowInstance.Event) -> HistoryEntry:
    """One stored event as a :class:`HistoryEntry` (``verified``: its hash recomputes)."""
    audit = event.audit
    return HistoryEntry(
        version=event.originator_version,
        at=event.timestamp,
        trigger=event.trigger,
        source=event.source,
        dest=event.dest,
        actor=audit["actor_id"],
        role=audit["role"],
        reason=audit.get("reason"),
        payload=event.payload,
        correlation_id=audit.get("correlation_id"),
        causation_id=audit.get("causation_id"),
        guards=[GuardOutcome(**g) for g in audit.get("guards", [])],
        definition_hash=event.definition_hash,
        hash=event.hash,
        prev_hash=event.prev_hash,
        verified=recompute_hash(event) == event.hash,
        **amendment_fields(event),
    )


def amendment_fields(event: WorkflowInstance.Event) -> dict[str, Any]:
    """``amends`` and ``amendment`` of an amendment event, or a step's ``effective_at``."""
    state = vars(event)
    if isinstance(state.get("effective_at"), str):
        return {"effective_at": datetime.fromisoformat(state["effective_at"])}
    for name in ("correction", "approval", "evidence", "note"):
        record = state.get(name)
        if isinstance(record, dict):
            amends = record.get("target", {}).get("version") if name == "correction" else None
            if name == "approval":
                amends = record.get("correction")
            return {"amends": amends, "amendment": record}
    return {}


def link_corrections(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """``entries`` with each corrected event's ``corrected_by`` filled in."""
    by_target: dict[int, list[int]] = {}
    for e in entries:
        if e.trigger == CORRECT_TRIGGER and e.amends is not None:
            by_target.setdefault(e.amends, []).append(e.version)
    if not by_target:
        return entries
    return [
        e.model_copy(update={"corrected_by": by_target[e.version]}) if e.version in by_target
        else e
        for e in entries
    ]  # fmt: skip


def allowed_report(
    compiled: CompiledWorkflow, view: InstanceView, actor: Actor, now: datetime
) -> AllowedReport:
    """What ``actor`` may fire from ``view``'s state, and why the rest is refused.

    Guards are run where an empty payload is valid; triggers that need a payload are
    reported in ``needs_payload`` (allowed by role and state, guards pending).
    """
    compiled.check_role(actor)  # an undeclared role is a bad call, not 100 refusals
    allowed: list[str] = []
    needs_payload: list[str] = []
    refused: list[Refusal] = []
    here = compiled.triggers_from(view.state)
    for trigger in here:
        try:
            t = compiled.check_access(view, trigger, actor)
            try:
                payload = compiled.validate_payload(t, {}, "(probe)")
            except InvalidPayload:
                needs_payload.append(trigger)
                continue
            compiled.run_guards(view, t, payload, actor, now)
            allowed.append(trigger)
        except EngineError as exc:
            refused.append(Refusal(trigger=trigger, code=exc.code, reason=_reason(exc)))
    others = sorted({t.trigger for t in compiled.definition.transitions} - set(here))
    refused += [
        Refusal(
            trigger=t, code="transition_not_allowed", reason=f"not possible from {view.state!r}"
        )
        for t in others
    ]
    return AllowedReport(
        instance_id=view.id,
        state=view.state,
        actor=actor,
        allowed=allowed,
        needs_payload=needs_payload,
        refused=refused,
    )


def _reason(exc: EngineError) -> str:
    reason = exc.details.get("reason")
    return str(reason) if reason else exc.message

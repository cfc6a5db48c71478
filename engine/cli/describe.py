"""What ``socieux show`` reports about one instance, as a JSON-ready dict.

Everything comes from the façade (``get``, ``history`` and the registered definition); the
dict is what ``--json`` prints and what :func:`engine.cli.render.render_instance` draws.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.commands.compiled import CompiledWorkflow
    from engine.facade import Engine
    from engine.instance.views import HistoryEntry

__all__ = ["describe_instance"]


def describe_instance(
    engine: Engine,
    instance: str,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The instance (now, at ``version`` or ``as_of``) with its SLA standing and stages.

    SLA figures are measured at ``as_of``; for ``version`` at the moment the next version
    was recorded (or now, for the latest); otherwise now (the real clock).
    """
    view = engine.get(instance, version=version, as_of=as_of)
    compiled = engine.registry.by_hash(view.definition_hash)
    entries = engine.history(view.id)
    later = [e for e in entries if e.version > view.version]
    at = as_of or (later[0].at if later else None) or datetime.now(UTC)
    final = view.state in compiled.final_states
    sla = compiled.sla_days.get(view.state)
    past = [e for e in entries if e.version <= view.version]
    clocked = _sla_clock(compiled, past)
    entered = view.state_entered_at
    if clocked is not past:  # counted in effective time: from the step that entered it
        entered = next((e.at for e in reversed(clocked) if e.source != e.dest), entered)
    days_in_state = _days(entered, at)
    overdue = not final and sla is not None and days_in_state > sla
    stages = _stages(clocked, at, compiled.sla_days, compiled.final_states)
    now_late = f"overdue: {days_in_state:.1f} days in {view.state}, SLA {sla} days"
    descriptions = {s.name: s.description for s in compiled.definition.states}
    return {
        **view.model_dump(mode="json", exclude={"fired_by", "acted_as"}),
        "state_description": descriptions.get(view.state) or None,
        "final": final,
        "measured_at": _iso(at),
        "sla_days": sla,
        "days_in_state": round(days_in_state, 1),
        "overdue": overdue,
        "warnings": ([now_late] if overdue else []) + _late_stays(stages),
        "stages": stages,
        "next": _next(compiled, view.state),
        "timeline": [_step(e) for e in past],
    }


def _sla_clock(compiled: CompiledWorkflow, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The entries as the SLA clock counts them: at their effective times where the
    workflow's audit policy says ``sla`` counts in effective time, else as recorded."""
    policy = compiled.definition.audit
    if policy is None or "sla" not in policy.effective_clocks:
        return entries
    return [
        e.model_copy(update={"at": e.effective_at}) if e.effective_at is not None else e
        for e in entries
    ]


def _late_stays(stages: list[dict[str, Any]]) -> list[str]:
    """A warning for each past stay longer than its SLA."""
    return [
        f"{s['state']} took {s['days']:.1f} days, SLA {s['sla_days']} days"
        for s in stages
        if s["late"] and s["left_at"] is not None
    ]


def _next(compiled: CompiledWorkflow, state: str) -> list[dict[str, Any]]:
    """What may happen from ``state``: each trigger, where it leads and who may fire it."""
    nxt = []
    for trigger in compiled.triggers_from(state):
        t = compiled.transition(state, trigger)
        nxt.append({"trigger": trigger, "to": t.dest or state, "roles": list(t.roles)})
    return nxt


def _iso(at: datetime) -> str:
    """ISO 8601 as pydantic writes it (UTC as ``Z``), like every other time in the JSON."""
    return at.isoformat().replace("+00:00", "Z")


def _days(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 86400)


def _stages(
    entries: list[HistoryEntry],
    at: datetime,
    sla_days: dict[str, int],
    final_states: frozenset[str],
) -> list[dict[str, Any]]:
    """One row per stay in a state (self-transitions such as recorded activities fold in)."""
    stages: list[dict[str, Any]] = []
    for e in entries:
        if stages and e.source == e.dest:
            continue
        if stages:
            stages[-1]["left_at"] = e.at
        stages.append({"state": e.dest, "entered_at": e.at, "left_at": None})
    rows = []
    for s in stages:
        days = _days(s["entered_at"], s["left_at"] or at)
        sla = sla_days.get(s["state"])
        rows.append(
            {
                "state": s["state"],
                "entered_at": _iso(s["entered_at"]),
                "left_at": _iso(s["left_at"]) if s["left_at"] else None,
                "days": round(days, 1),
                "sla_days": sla,
                "late": s["state"] not in final_states and sla is not None and days > sla,
            }
        )
    return rows


def _step(e: HistoryEntry) -> dict[str, Any]:
    return {
        "version": e.version,
        "at": _iso(e.at),
        "trigger": e.trigger,
        "source": e.source,
        "dest": e.dest,
        "actor": e.actor,
        "role": e.role,
        "reason": e.reason,
        **({"effective_at": _iso(e.effective_at)} if e.effective_at else {}),
    }

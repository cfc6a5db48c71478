"""Bitemporal reads: the state as known at one recorded time about another, effective, time.

Every event has a recorded time (its timestamp, hash-chained and never backwards) and an
effective time: its ``effective_at`` when it carries one, else the recorded time. A
correction or its approval takes the effective time of the event it amends; a note or an
evidence attachment, its recorded time. :func:`effective_state` folds the events recorded
up to ``as_of`` whose effective time is at most ``effective``, in version order: the state
is the last included step's dest, the data the included payloads merged (or collected) with
the included corrections applied. It never reads the clock and never runs a guard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.instance.upcasting import (
    CORRECTED,
    CORRECTION_APPROVED,
    ESCALATED,
    MIGRATED,
    STARTED,
    TRANSITIONED,
)

__all__ = ["EffectiveState", "effective_at", "effective_state"]


def effective_at(event: Any) -> datetime:
    """The effective time an event carries, or its recorded time."""
    text = vars(event).get("effective_at")
    return datetime.fromisoformat(text) if isinstance(text, str) else event.timestamp


@dataclass
class EffectiveState:
    """What :func:`effective_state` found: the last included event, state and data."""

    version: int = 0
    state: str | None = None
    updated_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _times(events: list[Any]) -> dict[int, datetime]:
    """Each event's effective time (corrections and approvals: their target's)."""
    times: dict[int, datetime] = {}
    corrects: dict[int, int] = {}
    for e in events:
        v, topic = int(e.originator_version), type(e).TOPIC
        times[v] = effective_at(e)
        if topic == CORRECTED:
            corrects[v] = int(e.correction["target"]["version"])
            times[v] = times.get(corrects[v], times[v])
        elif topic == CORRECTION_APPROVED:
            target = corrects.get(int(e.approval["correction"]))
            times[v] = times.get(target, times[v]) if target else times[v]
    return times


def effective_state(
    events: Iterable[Any], as_of: datetime | None, effective: datetime
) -> EffectiveState:
    """Fold the events recorded up to ``as_of`` (all: ``None``) effective by ``effective``."""
    recorded = [e for e in events if as_of is None or e.timestamp <= as_of]
    times = _times(recorded)
    out = EffectiveState()
    steps: list[Any] = []
    amended: dict[int, dict[str, Any]] = {}
    pending: dict[int, tuple[int, dict[str, Any]]] = {}
    for e in recorded:
        v, topic = int(e.originator_version), type(e).TOPIC
        if times[v] > effective:
            continue
        out.version, out.updated_at = v, e.timestamp
        if topic in {STARTED, TRANSITIONED, MIGRATED}:
            steps.append(e)
            out.state = e.dest
        elif topic == ESCALATED:
            out.state = e.dest
        elif topic == CORRECTED:
            rec = e.correction
            change = (int(rec["target"]["version"]), {c["field"]: c["new"] for c in rec["changes"]})
            if rec.get("pending"):
                pending[v] = change
            else:
                amended.setdefault(change[0], {}).update(change[1])
        elif topic == CORRECTION_APPROVED and int(e.approval["correction"]) in pending:
            target, values = pending.pop(int(e.approval["correction"]))
            amended.setdefault(target, {}).update(values)
    out.data = _merged(steps, amended)
    return out


def _merged(steps: list[Any], amended: dict[int, dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for e in steps:
        payload = {**e.payload, **amended.get(int(e.originator_version), {})}
        if type(e).TOPIC == MIGRATED:
            data = {k: v for k, v in data.items() if k not in set(e.migration.get("removed", ()))}
        if e.collect_as:
            data[e.collect_as] = [*data.get(e.collect_as, ()), payload]
        else:
            data.update(payload)
    return data

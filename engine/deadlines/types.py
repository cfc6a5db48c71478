"""What the deadline parts return: due-table rows, a run's report, worklist items."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from engine.instance.views import Actor

__all__ = [
    "SYSTEM_ACTOR",
    "BlockedDeadline",
    "DueDeadline",
    "FiredDeadline",
    "RunReport",
    "WorkItem",
]

SYSTEM_ACTOR = Actor("system", "system")
"""The engine's own actor: the only one that records due deadlines."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Status = Literal["open", "fired", "cancelled", "blocked"]


class DueDeadline(BaseModel):
    """One row of the due table: a deadline scheduled on an instance, and what became of it."""

    model_config = _FROZEN

    instance_id: str
    deadline_id: str
    """``<version>:<name>``: the version of the event that scheduled it, and its name."""
    workflow: str
    state: str
    name: str
    action: Literal["escalate", "remind", "fire"]
    trigger: str | None
    role: str | None
    level: int | None
    due_at: datetime
    status: Status
    closed_at: datetime | None
    """When it fired or was cancelled (``None`` while open)."""
    lag_seconds: float | None
    """For a fired deadline: ``closed_at - due_at``."""
    overdue: bool
    """Open and due at the time of the query."""
    note: str | None = None
    """Why a ``blocked`` deadline could not be recorded (an error code)."""


class FiredDeadline(BaseModel):
    """A deadline a run recorded: the event's version, its due time and its lag."""

    model_config = _FROZEN

    instance_id: str
    deadline_id: str
    action: str
    version: int
    due_at: datetime
    fired_at: datetime
    lag_seconds: float


class BlockedDeadline(BaseModel):
    """A due deadline whose transition the workflow refused (a guard, say): not recorded."""

    model_config = _FROZEN

    instance_id: str
    deadline_id: str
    code: str
    reason: str


class RunReport(BaseModel):
    """What one ``run_due`` did, at time ``now``."""

    model_config = _FROZEN

    now: datetime
    claimed: int
    fired: list[FiredDeadline]
    closed: int
    """Claimed rows whose deadline was already closed (fired elsewhere, or cancelled)."""
    blocked: list[BlockedDeadline]
    conflicts: int
    """Claimed rows left for a later run after repeated write conflicts."""

    @property
    def max_lag_seconds(self) -> float:
        """The largest lag of the deadlines fired (0 when none fired)."""
        return max((f.lag_seconds for f in self.fired), default=0.0)


class WorkItem(BaseModel):
    """An instance where an actor may fire something now, with what and how urgently."""

    model_config = _FROZEN

    instance_id: str
    workflow: str
    definition_version: int
    state: str
    triggers: list[str]
    """The triggers the actor's role may fire from the state, separation of duties allowing
    (their guards run when the command brings its payload)."""
    due_at: datetime | None
    """The earliest open deadline of the instance (``None``: none is open)."""
    overdue: bool
    entered_at: datetime
    """When the instance entered its state."""
    escalated: bool
    """An escalation or reminder in this state named the actor's role."""
    actor: Actor

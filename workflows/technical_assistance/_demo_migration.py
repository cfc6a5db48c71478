"""The demo's last step: the team moves the version 1 requests still waiting to version 2.

A team member plans the migration of the requests in ``submitted`` or ``fine_tuned``; a
Commission officer (another person: the migration separates duties) applies it. The plan
blocks those that cannot move, each with its reasons (say, an institution the 2025.1
registry does not know); they stay on version 1.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from engine import Actor, Engine
from workflows.technical_assistance.workflow import NAME

__all__ = ["APPLIER", "PLANNER", "MigrationOutcome", "migrate_pending"]

PLANNER = Actor("team-1", "socieux_team")
APPLIER = Actor("dg-intpa-1", "commission")
_REASON = "Pending requests move to the fourth phase's rules (reference data 2025.1)."


class MigrationOutcome(BaseModel):
    """What the demo's migration did: how many were planned, moved and blocked, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    planned: int
    migrated: int
    blocked: int
    reasons: dict[str, int]
    """Each problem of the blocked instances, with how many it blocked."""

    def text(self) -> str:
        """One line for the demo's summary."""
        line = (
            f"Migrated {self.migrated} of {self.planned} version 1 requests waiting in "
            f"submitted or fine_tuned to version 2"
        )
        if self.blocked:
            why = "; ".join(self.reasons)
            line += f"; {self.blocked} blocked, kept on version 1 ({why})"
        return line + "."


def migrate_pending(engine: Engine) -> MigrationOutcome | None:
    """Plan and apply the migration of the waiting version 1 requests to version 2
    (``None`` if the engine does not register version 2)."""
    versions = {c.definition.version for c in engine.registry.all() if c.definition.name == NAME}
    if 2 not in versions or 1 not in versions:
        return None
    plan = engine.plan_migration(NAME, to=2, states=["submitted", "fine_tuned"], actor=PLANNER)
    ready = [i for i in plan.items if i.ok]
    if ready:
        engine.migrate(plan, actor=APPLIER, reason=_REASON)
    reasons = Counter(p for i in plan.items if not i.ok for p in i.problems)
    return MigrationOutcome(
        planned=len(plan.items),
        migrated=len(ready),
        blocked=len(plan.items) - len(ready),
        reasons=dict(sorted(reasons.items())),
    )

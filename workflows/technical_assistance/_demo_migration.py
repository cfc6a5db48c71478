"""The demo's migrations at "today": waiting version 1 requests move to version 2, then
every open version 2 request to version 3 (whose SLAs escalate).

A team member plans each migration; a Commission officer (another person: the migrations
separate duties) applies it. The plan blocks those that cannot move, each with its
reasons (say, an institution the 2025.1 registry does not know); they stay where they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine import Actor, Engine, MigrationPlan
from workflows.technical_assistance.workflow import NAME

__all__ = ["APPLIER", "PLANNER", "MigrationOutcome", "migrate_open", "migrate_pending"]

PLANNER = Actor("team-1", "socieux_team")
APPLIER = Actor("dg-intpa-1", "commission")
_REASONS = {
    2: "Pending requests move to the fourth phase's rules (reference data 2025.1).",
    3: "Open requests move to version 3: their SLAs escalate to the team, then the Commission.",
}
_PENDING = ("submitted", "fine_tuned")


class MigrationOutcome(BaseModel):
    """What one of the demo's migrations did: how many were planned, moved and blocked,
    and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    planned: int
    migrated: int
    blocked: int
    reasons: dict[str, int]
    """Each problem of the blocked instances, with how many it blocked."""
    from_version: int = 1
    to_version: int = 2

    def plus(self, other: MigrationOutcome) -> MigrationOutcome:
        """This outcome and ``other`` (of the same versions) together."""
        reasons = Counter(self.reasons) + Counter(other.reasons)
        return self.model_copy(
            update={
                "planned": self.planned + other.planned,
                "migrated": self.migrated + other.migrated,
                "blocked": self.blocked + other.blocked,
                "reasons": dict(sorted(reasons.items())),
            }
        )

    def text(self) -> str:
        """One line for the demo's summary."""
        which = "waiting in submitted or fine_tuned" if self.from_version == 1 else "still open"
        line = (
            f"Migrated {self.migrated} of {self.planned} version {self.from_version} requests "
            f"{which} to version {self.to_version}"
        )
        if self.blocked:
            why = "; ".join(self.reasons)
            line += f"; {self.blocked} blocked, kept on version {self.from_version} ({why})"
        return line + "."


def _versions(engine: Engine) -> set[int]:
    return {c.definition.version for c in engine.registry.all() if c.definition.name == NAME}


def migrate_pending(
    engine: Engine, instances: Iterable[UUID] | None = None
) -> MigrationOutcome | None:
    """Plan and apply the migration of the waiting version 1 requests (of ``instances``,
    default: all) to version 2 (``None`` if the engine does not register both)."""
    if not {1, 2} <= _versions(engine):
        return None
    chosen = None if instances is None else list(instances)
    plan = engine.plan_migration(NAME, to=2, instances=chosen, states=_PENDING, actor=PLANNER)
    return _apply(engine, plan, 1, 2)


def migrate_open(engine: Engine, instances: Iterable[UUID]) -> MigrationOutcome | None:
    """Plan and apply the migration of ``instances`` (open, on version 2) to version 3
    (``None`` if the engine does not register both, or there are none)."""
    chosen = list(instances)
    if not {2, 3} <= _versions(engine) or not chosen:
        return None
    plan = engine.plan_migration(NAME, to=3, instances=chosen, actor=PLANNER)
    return _apply(engine, plan, 2, 3)


def _apply(engine: Engine, plan: MigrationPlan, old: int, new: int) -> MigrationOutcome:
    ready = [i for i in plan.items if i.ok]
    if ready:
        engine.migrate(plan, actor=APPLIER, reason=_REASONS[new])
    reasons = Counter(p for i in plan.items if not i.ok for p in i.problems)
    return MigrationOutcome(
        planned=len(plan.items),
        migrated=len(ready),
        blocked=len(plan.items) - len(ready),
        reasons=dict(sorted(reasons.items())),
        from_version=old,
        to_version=new,
    )

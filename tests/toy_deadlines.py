"""A small workflow with deadlines, for the engine's deadline tests (no SOCIEUX rules).

A leave request is submitted and reviewed. While it waits for review, the reviewer is
reminded after 2 days, the manager is escalated to after 3 working days (Belgian calendar),
and after 10 days the engine deems it approved (silence as consent). A reviewed request
lapses after 5 days without the manager's decision.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from engine import (
    DeadlineDef,
    Guard,
    GuardContext,
    GuardResult,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
    WorkingCalendar,
)


class Leave(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    days: int = Field(ge=1, le=60)


class Note(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str = Field(min_length=1)


def short_enough(ctx: GuardContext) -> GuardResult:
    days = int(ctx.view.data.get("days", 0))
    return GuardResult(days <= 30, f"{days} days (at most 30)", {"days": days})


BELGIUM = WorkingCalendar(holidays=(date(2024, 1, 1), date(2024, 4, 1), date(2024, 5, 1)))

WAITING = (
    DeadlineDef(name="nudge", days=2, action="remind", role="reviewer"),
    DeadlineDef(
        name="escalate",
        days=3,
        working_days=True,
        calendar="BE",
        action="escalate",
        role="manager",
        level=1,
        reason="no review after 3 working days",
    ),
    DeadlineDef(
        name="consent",
        days=10,
        action="fire",
        trigger="deem_approved",
        reason="silence as consent",
    ),
)


def leave_definition(version: int = 1) -> WorkflowDefinition:
    """The toy leave workflow with deadlines."""
    return WorkflowDefinition(
        name="leave",
        version=version,
        roles=("requester", "reviewer", "manager"),
        states=(
            StateDef(name="submitted", deadlines=WAITING),
            StateDef(
                name="reviewed",
                deadlines=(DeadlineDef(name="lapse", days=5, action="fire", trigger="lapse"),),
            ),
            StateDef(name="approved", final=True),
            StateDef(name="rejected", final=True),
        ),
        transitions=(
            TransitionDef(trigger="submit", dest="submitted", roles=("requester",), payload=Leave),
            TransitionDef(
                trigger="note",
                source=("submitted", "reviewed"),
                internal=True,
                roles=("requester", "reviewer"),
                payload=Note,
                collect_as="notes",
            ),
            TransitionDef(
                trigger="review",
                source=("submitted",),
                dest="reviewed",
                roles=("reviewer",),
                separation=("submit",),
            ),
            TransitionDef(
                trigger="deem_approved",
                source=("submitted",),
                dest="approved",
                roles=("system",),
            ),
            TransitionDef(
                trigger="approve",
                source=("reviewed",),
                dest="approved",
                roles=("manager",),
                separation=("submit", "review"),
                guards=("short_enough",),
            ),
            TransitionDef(
                trigger="reject",
                source=("submitted", "reviewed"),
                dest="rejected",
                roles=("reviewer", "manager"),
                reason_required=True,
            ),
            TransitionDef(
                trigger="lapse", source=("reviewed",), dest="rejected", roles=("system",)
            ),
        ),
        guards=(Guard("short_enough", short_enough),),
        calendars={"BE": BELGIUM},
    )

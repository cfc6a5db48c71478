"""A small but complete workflow used by the engine's own tests (no SOCIEUX rules)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from engine import (
    Guard,
    GuardContext,
    GuardResult,
    PersonalStr,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)


class Submission(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    amount: int = Field(ge=0)
    contact: PersonalStr = "n/a"


class Review(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    score: int = Field(ge=1, le=5)


class Note(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: str = Field(min_length=1)


def amount_within_cap(ctx: GuardContext) -> GuardResult:
    amount = int(ctx.view.data.get("amount", 0))
    cap = int(ctx.settings["cap"])
    if amount <= cap:
        return GuardResult.passed(f"amount {amount} <= cap {cap}", amount=amount, cap=cap)
    return GuardResult.failed(f"amount {amount} exceeds cap {cap}", amount=amount, cap=cap)


def good_score(ctx: GuardContext) -> GuardResult:
    score = getattr(ctx.payload, "score", 0)
    return GuardResult(score >= 3, f"score {score} (needs >= 3)", {"score": score})


def toy_definition(version: int = 1, cap: int = 1000) -> WorkflowDefinition:
    return WorkflowDefinition(
        name="toy",
        version=version,
        title="Toy request",
        roles=("requester", "reviewer", "approver"),
        states=(
            StateDef(name="submitted", sla_days=10),
            StateDef(name="reviewed", sla_days=5),
            StateDef(name="approved", final=True),
            StateDef(name="rejected", final=True),
        ),
        transitions=(
            TransitionDef(
                trigger="submit", dest="submitted", roles=("requester",), payload=Submission
            ),
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
                payload=Review,
                guards=("good_score",),
            ),
            TransitionDef(
                trigger="approve",
                source=("reviewed",),
                dest="approved",
                roles=("approver",),
                guards=("amount_within_cap",),
                separation=("submit", "review"),
            ),
            TransitionDef(
                trigger="reject",
                source=("submitted", "reviewed"),
                dest="rejected",
                roles=("reviewer", "approver"),
                reason_required=True,
            ),
        ),
        guards=(
            Guard("amount_within_cap", amount_within_cap),
            Guard("good_score", good_score),
        ),
        settings={"cap": cap},
    )

"""A small workflow with an audit policy: correctable fields, four eyes, evidence and notes.

``grant``: a partner submits a budget (``amount`` capped by a guard, ``title``, ``start``),
the team records activities (collected, each with ``days``), an approver approves.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from engine import (
    AuditPolicy,
    Guard,
    GuardContext,
    GuardResult,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)

CAP = 1000


class Budget(BaseModel):
    """The submitted budget."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    amount: int = Field(ge=0, le=10**9)
    start: date = date(2024, 1, 1)


class Activity(BaseModel):
    """One activity record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    activity: str = Field(min_length=1, max_length=20)
    days: int = Field(ge=0, le=1000)


def amount_capped(ctx: GuardContext) -> GuardResult:
    """The amount is within the cap."""
    amount = int(getattr(ctx.payload, "amount", 0))
    if amount > CAP:
        return GuardResult.failed(f"amount {amount} is over the cap of {CAP}", amount=amount)
    return GuardResult.passed(f"amount {amount} within {CAP}", amount=amount)


def days_within_budget(ctx: GuardContext) -> GuardResult:
    """An activity's days are at most a tenth of the amount."""
    days = int(getattr(ctx.payload, "days", 0))
    budget = int(ctx.view.data.get("amount", 0))
    if days * 10 > budget:
        return GuardResult.failed(f"{days} days exceed a tenth of {budget}", days=days)
    return GuardResult.passed(f"{days} days within {budget}", days=days, amount=budget)


POLICY = AuditPolicy(
    correctable={"submit": ("amount", "title"), "record": ("days",)},
    correct_roles=("team",),
    approve_roles=("team", "approver"),
    evidence_roles=("team", "partner"),
    validate_roles=("team",),
    annotate_roles=("team", "partner", "approver"),
    late_after_days=10,
)


def audit_definition(*, four_eyes: bool = True, name: str = "grant") -> WorkflowDefinition:
    """The ``grant`` workflow (``four_eyes=False``: corrections take effect at once)."""
    return WorkflowDefinition(
        name=name,
        version=1,
        roles=("partner", "team", "approver"),
        states=(StateDef(name="submitted"), StateDef(name="approved", final=True)),
        transitions=(
            TransitionDef(
                trigger="submit",
                dest="submitted",
                roles=("partner",),
                payload=Budget,
                guards=("amount_capped",),
            ),
            TransitionDef(
                trigger="record",
                source=("submitted",),
                internal=True,
                roles=("team",),
                payload=Activity,
                collect_as="activities",
                guards=("days_within_budget",),
            ),
            TransitionDef(
                trigger="approve",
                source=("submitted",),
                dest="approved",
                roles=("approver",),
                separation=("submit", "partner"),
            ),
        ),
        guards=(
            Guard("amount_capped", amount_capped),
            Guard("days_within_budget", days_within_budget),
        ),
        audit=POLICY.model_copy(update={"four_eyes": four_eyes}),
    )

"""The technical-assistance workflow definition (SOCIEUX+), built from the domain table.

:func:`definition` returns a fresh, validated-on-registration
:class:`~engine.WorkflowDefinition`. Caps and SLAs are configurable through ``settings``;
the reference data's version and each eligible country's region (read by the ``requests``
projection) are recorded in the settings, so they enter the definition's content hash.
"""

# long module: version 1's states, transitions, guards and settings are one definition, pinned by
# its content hash and golden history; splitting it would only scatter one table.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine import EmptyPayload, RetentionRule, StateDef, TransitionDef, WorkflowDefinition
from workflows.technical_assistance.display import DISPLAY
from workflows.technical_assistance.guards import guards
from workflows.technical_assistance.payloads import (
    ActionPlanPayload,
    ActivityRecordPayload,
    ApprovalPayload,
    DisseminationPayload,
    EvaluationPayload,
    MobilisationPayload,
    RequestPayload,
)
from workflows.technical_assistance.reference import reference_data

__all__ = [
    "DEFAULT_SLA_DAYS",
    "NAME",
    "ROLES",
    "STATES",
    "VERSION",
    "Settings",
    "check_sla_days",
    "definition",
    "delivery_transitions",
    "request_transitions",
    "retention_settings",
]

NAME = "technical-assistance"
VERSION = 1
ROLES = (
    "partner_institution",
    "eu_delegation",
    "socieux_team",
    "commission",
    "expert",
    "evaluator",
    "auditor",
)
"""Declared roles; ``auditor`` is read-only (it fires nothing)."""

DEFAULT_SLA_DAYS: Mapping[str, int] = {
    "submitted": 30,
    "revision_requested": 30,
    "fine_tuned": 15,
    "approved": 45,
    "implemented": 30,
    "evaluated": 60,
}
STATES: tuple[tuple[str, bool, str], ...] = (  # (name, final, description)
    ("submitted", False, "The request is with the SOCIEUX+ team."),
    ("revision_requested", False, "The team asked the requester to revise the request."),
    ("fine_tuned", False, "The action is worked out; it awaits the Commission's approval."),
    ("approved", False, "The Commission approved the action; experts are being selected."),
    ("mobilised", False, "Experts are contracted; activities are being delivered."),
    ("implemented", False, "Every activity is delivered or cancelled."),
    ("evaluated", False, "Partner, expert and participant feedback is in."),
    ("disseminated", True, "Results are shared as knowledge products."),
    ("rejected", True, "The request was turned down."),
    ("withdrawn", True, "The requester withdrew the request."),
    ("cancelled", True, "The approved action was cancelled."),
)


class Settings(BaseModel):
    """Configurable figures of the workflow; ``definition(settings)`` validates them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_activities: int = Field(default=6, ge=1, le=50)
    max_expert_days_per_activity: int = Field(default=60, ge=1, le=1000)
    max_expert_days_total: int = Field(default=200, ge=1, le=10_000)
    max_activity_window_days: int = Field(default=366, ge=1, le=3660)
    sla_days: dict[str, int] = Field(default_factory=dict)
    reference_data_version: str | None = None
    retention: RetentionRule | None = None
    """Financial Regulation Art. 133 (``None``: the engine's 5 years after the request's end;
    set only when given, so the definitions' hashes stay as they were)."""

    @field_validator("sla_days")
    @classmethod
    def _known_states(cls, value: dict[str, int]) -> dict[str, int]:
        return check_sla_days(value, STATES)


def retention_settings(rule: RetentionRule | None) -> dict[str, Any]:
    """The ``retention`` setting of a definition, only when a rule is given (a definition
    without one keeps its hash and the engine's 5 years)."""
    if rule is None:
        return {}
    return {"retention": rule.model_dump(mode="json", exclude_none=True)}


def check_sla_days(
    value: dict[str, int], states: tuple[tuple[str, bool, str], ...]
) -> dict[str, int]:
    """``value`` if it sets SLAs (at least 1 day) for non-final ``states`` only."""
    finals = {name for name, final, _ in states if final}
    names = {name for name, _, _ in states}
    for state, days in value.items():
        if state not in names or state in finals:
            msg = f"no SLA can be set for {state!r} (not a non-final state)"
            raise ValueError(msg)
        if days < 1:
            msg = f"SLA for {state!r} must be at least 1 day"
            raise ValueError(msg)
    return value


def definition(settings: Mapping[str, Any] | None = None) -> WorkflowDefinition:
    """The technical-assistance workflow, version 1.

    ``settings`` may override ``max_activities`` (6), ``max_expert_days_per_activity`` (60),
    ``max_expert_days_total`` (200), ``max_activity_window_days`` (366) and per-state
    ``sla_days`` (merged over :data:`DEFAULT_SLA_DAYS`) and ``retention`` (a
    :class:`~engine.RetentionRule`; without it, 5 years after the request's end. The requests
    record no amount, so a reduced period needs an ``amount_path`` to data a host records).
    Raises ``ValueError`` for unknown or invalid settings, or for a
    ``reference_data_version`` other than the installed one.
    """
    cfg = Settings.model_validate(dict(settings or {}))
    ref = reference_data()
    if cfg.reference_data_version not in (None, ref.version):
        msg = (
            f"reference data {cfg.reference_data_version} is not installed "
            f"(installed: {ref.version})"
        )
        raise ValueError(msg)
    sla = {**DEFAULT_SLA_DAYS, **cfg.sla_days}
    return WorkflowDefinition(
        name=NAME,
        version=VERSION,
        title="SOCIEUX+ technical-assistance request",
        description=(
            "A partner institution asks for expertise; the team fine-tunes the request with "
            "the EU Delegation, the Commission approves, experts are mobilised, activities "
            "are delivered, evaluated and their results disseminated."
        ),
        roles=ROLES,
        states=tuple(
            StateDef(name=name, final=final, sla_days=sla.get(name), description=text)
            for name, final, text in STATES
        ),
        transitions=request_transitions() + delivery_transitions(),
        guards=guards(),
        settings={
            **cfg.model_dump(exclude={"sla_days", "reference_data_version", "retention"}),
            **retention_settings(cfg.retention),
            "sla_days": sla,
            "reference_data_version": ref.version,
            "country_regions": {c.code: c.region for c in ref.countries.values()},
        },
        display=DISPLAY,
    )


_REQUESTERS = ("partner_institution", "eu_delegation")
_REQUEST_GUARDS = ("request_eligible", "request_complete")


# long function: a table of transition definitions (data), one literal per transition.
def request_transitions() -> tuple[TransitionDef, ...]:
    """Version 1's transitions from the request to its approval (or its end)."""
    return (
        TransitionDef(
            trigger="submit",
            dest="submitted",
            roles=_REQUESTERS,
            payload=RequestPayload,
            guards=_REQUEST_GUARDS,
            description="Ask for technical assistance.",
        ),
        TransitionDef(
            trigger="return_for_revision",
            source=("submitted",),
            dest="revision_requested",
            roles=("socieux_team",),
            reason_required=True,
            description="Send the request back to its author for revision.",
        ),
        TransitionDef(
            trigger="resubmit",
            source=("revision_requested",),
            dest="submitted",
            roles=_REQUESTERS,
            payload=RequestPayload,
            guards=_REQUEST_GUARDS,
            description="Submit the revised request.",
        ),
        TransitionDef(
            trigger="fine_tune",
            source=("submitted",),
            dest="fine_tuned",
            roles=("socieux_team",),
            payload=ActionPlanPayload,
            guards=(
                "eu_delegation_opinion_recorded",
                "action_plan_within_caps",
                "action_plan_valid",
            ),
            description="Record the action plan and the EU Delegation's opinion.",
        ),
        TransitionDef(
            trigger="approve",
            source=("fine_tuned",),
            dest="approved",
            roles=("commission",),
            payload=ApprovalPayload,
            guards=("approval_complete",),
            separation=("submit", "resubmit", "fine_tune"),
            description="The Commission approves the action.",
        ),
        TransitionDef(
            trigger="reject",
            source=("submitted",),
            dest="rejected",
            roles=("socieux_team",),
            reason_required=True,
            description="The team turns the request down.",
        ),
        TransitionDef(
            trigger="reject",
            source=("fine_tuned",),
            dest="rejected",
            roles=("commission",),
            reason_required=True,
            description="The Commission turns the action down.",
        ),
        TransitionDef(
            trigger="withdraw",
            source=("submitted", "revision_requested", "fine_tuned"),
            dest="withdrawn",
            roles=("partner_institution",),
            reason_required=True,
            description="The requester withdraws the request.",
        ),
    )


# long function: a table of transition definitions (data), one literal per transition.
def delivery_transitions() -> tuple[TransitionDef, ...]:
    """Version 1's transitions from mobilisation to dissemination (or cancellation)."""
    return (
        TransitionDef(
            trigger="mobilise",
            source=("approved",),
            dest="mobilised",
            roles=("socieux_team",),
            payload=MobilisationPayload,
            guards=(
                "experts_cover_plan",
                "no_conflict_of_interest",
                "expert_days_within_plan",
                "experts_eligible",
            ),
            description="Select and contract the experts.",
        ),
        TransitionDef(
            trigger="record_activity",
            source=("mobilised",),
            internal=True,
            roles=("socieux_team", "expert"),
            payload=ActivityRecordPayload,
            guards=("activity_record_valid",),
            collect_as="activity_records",
            description="Record an activity's delivery (or its cancellation).",
        ),
        TransitionDef(
            trigger="implement",
            source=("mobilised",),
            dest="implemented",
            roles=("socieux_team",),
            guards=("activities_delivered",),
            payload=EmptyPayload,
            description="Close implementation once every activity is settled.",
        ),
        TransitionDef(
            trigger="evaluate",
            source=("implemented",),
            dest="evaluated",
            roles=("socieux_team", "evaluator"),
            payload=EvaluationPayload,
            guards=("partner_feedback_present",),
            description="Record the feedback and the achievements.",
        ),
        TransitionDef(
            trigger="disseminate",
            source=("evaluated",),
            dest="disseminated",
            roles=("socieux_team",),
            payload=DisseminationPayload,
            guards=("knowledge_product_present",),
            description="Share the results.",
        ),
        TransitionDef(
            trigger="cancel",
            source=("approved", "mobilised"),
            dest="cancelled",
            roles=("commission", "socieux_team"),
            reason_required=True,
            description="Cancel the approved action.",
        ),
    )

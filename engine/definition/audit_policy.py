"""What a definition says about corrections, evidence, notes and effective time.

A definition declares an :class:`AuditPolicy` (``WorkflowDefinition.audit``) to allow
corrections of named payload fields, evidence attachments and notes, in named roles, and to
bound the effective times commands may carry. It enters the content hash only when declared
(:func:`engine.definition.content.to_dict`), so definitions without one keep their hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from engine.definition.model import WorkflowDefinition

__all__ = ["EVIDENCE_TYPES", "ActivityFields", "AuditPolicy", "audit_dict", "audit_problems"]

EVIDENCE_TYPES = (
    "agenda",
    "attendance_list",
    "mission_report",
    "activity_report",
    "invoice",
    "boarding_pass",
    "knowledge_product",
)
"""The kinds of supporting document the facility's auditors ask for."""

Clock = Literal["sla", "eligibility", "retention"]


class ActivityFields(BaseModel):
    """Where an instance's data holds its planned activities and their records, for the
    auditor reports (window, evidence, days). The defaults are the facility's usual names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: str = "activities"
    plan_id: str = "id"
    plan_start: str = "start"
    plan_end: str = "end"
    plan_days: str = "expert_days"
    records: str = "activity_records"
    record_id: str = "activity_id"
    record_status: str = "status"
    delivered: str = "delivered"
    record_start: str = "actual_start"
    record_end: str = "actual_end"
    record_days: str = "days_worked"
    record_reference: str = "report_reference"
    report_type: str = "activity_report"


class AuditPolicy(BaseModel):
    """Who may correct, approve, attach evidence and annotate, and which fields are correctable.

    ``correctable`` maps a trigger to the payload fields of its events that a correction may
    amend. With ``four_eyes`` a correction takes effect only once a second person, in one of
    ``approve_roles``, approves it (never its requester). ``validate_roles`` may attach
    evidence marked as validated. ``future_tolerance_seconds`` bounds how far past the
    recorded time a command's ``effective_at`` may lie; ``effective_clocks`` names the clocks
    (``sla``, ``eligibility``, ``retention``) that count from effective time rather than
    recorded time. ``late_after_days`` is the auditor report's threshold for a late entry;
    ``activities`` says where the reports find planned activities and their records.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    correctable: Mapping[str, tuple[str, ...]] = Field(default_factory=dict)
    correct_roles: tuple[str, ...] = ()
    approve_roles: tuple[str, ...] = ()
    four_eyes: bool = True
    evidence_roles: tuple[str, ...] = ()
    validate_roles: tuple[str, ...] = ()
    annotate_roles: tuple[str, ...] = ()
    future_tolerance_seconds: int = Field(default=86_400, ge=0, le=366 * 86_400)
    effective_clocks: tuple[Clock, ...] = ()
    late_after_days: int = Field(default=30, ge=0, le=3650)
    evidence_types: tuple[str, ...] = EVIDENCE_TYPES
    activities: ActivityFields | None = None
    """Where the auditor reports find activities (none: those reports find nothing)."""

    def fields_of(self, trigger: str) -> tuple[str, ...]:
        """The correctable payload fields of ``trigger``'s events (none if not declared)."""
        return tuple(self.correctable.get(trigger, ()))


def audit_dict(p: AuditPolicy) -> dict[str, Any]:
    """The policy as plain JSON data (what the content hash covers)."""
    return {
        "correctable": {k: list(v) for k, v in sorted(p.correctable.items())},
        "correct_roles": list(p.correct_roles),
        "approve_roles": list(p.approve_roles),
        "four_eyes": p.four_eyes,
        "evidence_roles": list(p.evidence_roles),
        "validate_roles": list(p.validate_roles),
        "annotate_roles": list(p.annotate_roles),
        "future_tolerance_seconds": p.future_tolerance_seconds,
        "effective_clocks": list(p.effective_clocks),
        "late_after_days": p.late_after_days,
        "evidence_types": list(p.evidence_types),
        **({} if p.activities is None else {"activities": p.activities.model_dump()}),
    }


def audit_problems(defn: WorkflowDefinition) -> list[str]:
    """Every problem of ``defn.audit``: unknown roles, triggers and payload fields."""
    p = defn.audit
    if p is None:
        return []
    out: list[str] = []
    roles = set(defn.roles)
    named = {
        "correct_roles": p.correct_roles, "approve_roles": p.approve_roles,
        "evidence_roles": p.evidence_roles, "validate_roles": p.validate_roles,
        "annotate_roles": p.annotate_roles,
    }  # fmt: skip
    for what, listed in named.items():
        out += [f"audit.{what}: unknown role {r!r}" for r in listed if r not in roles]
    by_trigger = {t.trigger: t for t in defn.transitions}
    for trigger, names in p.correctable.items():
        t = by_trigger.get(trigger)
        if t is None:
            out.append(f"audit.correctable: unknown trigger {trigger!r}")
            continue
        known = set(t.payload.model_fields)
        out += [
            f"audit.correctable: {trigger!r} has no payload field {n!r}"
            for n in names
            if n not in known
        ]
    if p.correctable and not p.correct_roles:
        out.append("audit.correctable: no role may correct (audit.correct_roles is empty)")
    if p.correctable and p.four_eyes and not p.approve_roles:
        out.append("audit.four_eyes: no role may approve (audit.approve_roles is empty)")
    return out

"""What version 3 of the technical-assistance workflow lets auditors and the team do.

:data:`AUDIT_V3` is version 3's :class:`~engine.AuditPolicy`:

* the team (``socieux_team``) may correct the facts a request's records state, never who
  fired a step or when: the request's title, description, objectives and contact person
  (name, e-mail, phone; sealed for the contact as any personal field), the Commission's
  approval reference, an activity record's dates, participants, expert-days worked, report
  reference and modality, and the knowledge products' list (their titles);
* four eyes: a correction takes effect once a second team member or the Commission
  approves it (never its requester);
* the team, the partner institution and the experts (their own mission reports) attach
  evidence by fingerprint; only the team attaches it as validated;
* every human role may add notes (the ``system`` role of the deadline runner may not);
* an effective time may lie a day after the recorded time at most, SLA days count from
  effective times, and an entry recorded more than 14 days after it happened is late;
* the auditor reports find activities under the facility's usual keys (``activities``,
  ``activity_records``).

:func:`implement_with_reports` gives version 2's transitions with ``implement`` also
requiring a validated activity report per delivered activity
(:data:`~workflows.technical_assistance.guards_evidence.ACTIVITY_REPORTS_GUARD`).
"""

from __future__ import annotations

from engine import AuditPolicy, TransitionDef
from engine.definition.audit_policy import ActivityFields
from workflows.technical_assistance.guards_evidence import ACTIVITY_REPORTS_GUARD
from workflows.technical_assistance.workflow import ROLES

__all__ = ["AUDIT_V3", "CORRECTABLE_V3", "implement_with_reports"]

_REQUEST_FIELDS = ("title", "description", "objectives", "contact")
CORRECTABLE_V3: dict[str, tuple[str, ...]] = {
    "submit": _REQUEST_FIELDS,
    "resubmit": _REQUEST_FIELDS,
    "approve": ("approval_reference",),
    "record_activity": (
        "actual_start",
        "actual_end",
        "participants",
        "days_worked",
        "report_reference",
        "modality",
    ),
    "disseminate": ("products",),
}
"""The payload fields of each trigger that a correction may amend (the facts, not the who
or the when, which no correction can touch)."""

AUDIT_V3 = AuditPolicy(
    correctable=CORRECTABLE_V3,
    correct_roles=("socieux_team",),
    approve_roles=("socieux_team", "commission"),
    four_eyes=True,
    evidence_roles=("socieux_team", "partner_institution", "expert"),
    validate_roles=("socieux_team",),
    annotate_roles=ROLES,
    future_tolerance_seconds=86_400,
    effective_clocks=("sla",),
    late_after_days=14,
    activities=ActivityFields(),
)
"""Version 3's corrections, evidence, notes and effective time (see the module's text)."""


def implement_with_reports(transitions: tuple[TransitionDef, ...]) -> tuple[TransitionDef, ...]:
    """``transitions`` with ``implement`` also requiring validated activity reports."""
    name = ACTIVITY_REPORTS_GUARD.name
    return tuple(
        t.model_copy(update={"guards": (*t.guards, name)})
        if t.trigger == "implement" and name not in t.guards
        else t
        for t in transitions
    )

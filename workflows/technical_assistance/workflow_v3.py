"""Version 3 of the technical-assistance workflow: version 2 whose SLAs escalate.

Version 3 is version 2 (its payloads, guards, reference data 2025.1, the Delegation's
consultation and its silence as consent), with deadlines on every state of the spine that
has an SLA (``submitted``, ``revision_requested``, ``fine_tuned``, ``approved``,
``implemented``, ``evaluated``; DOMAIN's defaults 30, 30, 15, 45, 30 and 60 days):

* ``sla_team``: at the SLA, the engine records an escalation to the ``socieux_team``
  (level 1);
* ``sla_commission``: ``commission_escalation_days`` (15) calendar days later, if the
  request is still there, an escalation to the ``commission`` (level 2).

Leaving the state cancels both. ``consulting_delegation`` keeps version 2's silence
deadline only (its 7-day SLA is shorter than the way it ends). Version 2 requests in any
state that is not final may migrate here (``MIGRATION_FROM_V2``, no data change); the
migration schedules the escalations, counted from when the request entered its state.

Version 3 declares an audit policy (:data:`~.audit_v3.AUDIT_V3`: corrections with four
eyes, evidence, notes, effective time) and its ``implement`` also requires a validated
activity report on file per delivered activity (``activity_reports_on_file``), so a
version 2 request already implemented stays on version 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from engine import DeadlineDef, MigrationDef, StateDef, WorkflowDefinition
from workflows.technical_assistance import workflow_v2 as v2
from workflows.technical_assistance.audit_v3 import AUDIT_V3, implement_with_reports
from workflows.technical_assistance.guards_evidence import ACTIVITY_REPORTS_GUARD

__all__ = ["ESCALATED_STATES", "VERSION_V3", "SettingsV3", "definition_v3"]

VERSION_V3 = 3
ESCALATED_STATES = (
    "submitted",
    "revision_requested",
    "fine_tuned",
    "approved",
    "implemented",
    "evaluated",
)
"""The states of the spine whose SLA escalates (when a positive SLA is set for them)."""


class SettingsV3(v2.SettingsV2):
    """Version 2's settings, and how long after the SLA the Commission is told."""

    commission_escalation_days: int = Field(default=15, ge=1, le=365)


def definition_v3(settings: Mapping[str, Any] | None = None) -> WorkflowDefinition:
    """The technical-assistance workflow, version 3 (the default for new requests).

    ``settings`` as for version 2, and ``commission_escalation_days`` (15): the further
    calendar days after a state's SLA before the Commission is told. Raises ``ValueError``
    for unknown or invalid settings.
    """
    given = dict(settings or {})
    cfg = SettingsV3.model_validate(given)
    base = v2.definition_v2({k: v for k, v in given.items() if k != "commission_escalation_days"})
    sla: Mapping[str, int] = base.settings["sla_days"]
    further = cfg.commission_escalation_days
    return WorkflowDefinition(
        name=base.name,
        version=VERSION_V3,
        title=base.title,
        description=base.description + " Requests past their SLA escalate to the team, "
        "then to the Commission.",
        roles=base.roles,
        states=tuple(_escalating(s, sla.get(s.name), further) for s in base.states),
        transitions=implement_with_reports(base.transitions),
        guards=(*base.guards, ACTIVITY_REPORTS_GUARD),
        settings={**base.settings, "commission_escalation_days": further},
        migrations=(MIGRATION_FROM_V2,),
        calendars=base.calendars,
        display=base.display,
        audit=AUDIT_V3,
    )


def _escalating(state: StateDef, sla: int | None, further: int) -> StateDef:
    """``state`` with its two escalations, if it is on the spine and has an SLA."""
    if state.name not in ESCALATED_STATES or not sla:
        return state
    return state.model_copy(update={"deadlines": (*state.deadlines, *escalations(sla, further))})


def escalations(sla: int, further: int) -> tuple[DeadlineDef, DeadlineDef]:
    """The team at the SLA (``sla`` days), the Commission ``further`` days later."""
    return (
        DeadlineDef(
            name="sla_team",
            days=sla,
            action="escalate",
            role="socieux_team",
            level=1,
            reason=f"Past the state's SLA of {sla} days.",
        ),
        DeadlineDef(
            name="sla_commission",
            days=sla + further,
            action="escalate",
            role="commission",
            level=2,
            reason=f"Still waiting {further} days after the state's SLA of {sla} days.",
        ),
    )


MIGRATION_FROM_V2 = MigrationDef(
    from_version=2,
    state_map={
        s: s
        for s in (
            "submitted",
            "consulting_delegation",
            "revision_requested",
            "fine_tuned",
            "approved",
            "mobilised",
            "implemented",
            "evaluated",
        )
    },
    plan_roles=("socieux_team",),
    apply_roles=("socieux_team", "commission"),
    separate_duties=True,
    description="Open requests keep their state and data; their SLAs now escalate.",
)
"""Version 2 requests in any state that is not final may move to version 3."""

"""Version 2 of the technical-assistance workflow: the facility's fourth phase.

What changes from version 1 (docs in :mod:`workflows.technical_assistance`):

* reference data 2025.1: more than 160 eligible partner countries, and a registry of
  partner institutions under stable ids;
* the submission channel must match who submits (the Delegation submits through
  ``eu_delegation``, the institution ``direct``);
* the EU Delegation is consulted in a step of its own: the team ``request_opinion``
  (state ``consulting_delegation``), the Delegation answers with ``give_opinion``, or, after
  ``consultation_silence_working_days`` (5) working days of silence, the engine's deadline
  ``silence_counts_as_consent`` fires ``deem_favourable`` (no objection) as ``system``
  (``engine.run_due``), the rule as its reason;
  ``fine_tune`` needs that opinion, or a waiver with a reason on a request the Delegation
  submitted itself;
* planned activities state their modality (on site, remote, hybrid), and activity
  records the modality actually used;
* conflict of interest compares the employer's id with the institution's id;
* an expert records only activities they were mobilised on.

Version 1 requests in ``submitted`` or ``fine_tuned`` may migrate here (``ta_v1_to_v2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from engine import DeadlineDef, MigrationDef, StateDef, TransitionDef, WorkflowDefinition
from workflows.technical_assistance import workflow as v1
from workflows.technical_assistance.display import DISPLAY_V2
from workflows.technical_assistance.guards_v2 import guards_v2
from workflows.technical_assistance.payloads_v2 import (
    ActionPlanPayloadV2,
    ActivityRecordPayloadV2,
    MobilisationPayloadV2,
    OpinionPayload,
    RequestPayloadV2,
)
from workflows.technical_assistance.reference import reference_data
from workflows.technical_assistance.upcast import REFERENCE_VERSION, UPCASTER

__all__ = ["DEFAULT_SLA_DAYS_V2", "ROLES_V2", "VERSION_V2", "SettingsV2", "definition_v2"]

VERSION_V2 = 2
ROLES_V2 = (*v1.ROLES, "system")
"""Version 1's roles, and ``system``: the engine's own actor, which may only record the
Delegation's silence as no objection."""
DEFAULT_SLA_DAYS_V2: Mapping[str, int] = {**v1.DEFAULT_SLA_DAYS, "consulting_delegation": 7}
_STATES: tuple[tuple[str, bool, str], ...] = (
    v1.STATES[0],
    ("consulting_delegation", False, "The EU Delegation is consulted on the request."),
    *v1.STATES[1:],
)


class SettingsV2(v1.Settings):
    """Version 1's settings, and the Delegation's silence period in working days."""

    consultation_silence_working_days: int = Field(default=5, ge=1, le=30)

    @field_validator("sla_days")
    @classmethod
    def _known_states(cls, value: dict[str, int]) -> dict[str, int]:
        return v1.check_sla_days(value, _STATES)


def definition_v2(settings: Mapping[str, Any] | None = None) -> WorkflowDefinition:
    """The technical-assistance workflow, version 2 (the default for new requests).

    ``settings`` as for version 1, and ``consultation_silence_working_days`` (5); the
    ``consulting_delegation`` SLA defaults to 7 days. Reads reference data 2025.1. Raises
    ``ValueError`` for unknown or invalid settings or another reference-data version.
    """
    cfg = SettingsV2.model_validate(dict(settings or {}))
    if cfg.reference_data_version not in (None, REFERENCE_VERSION):
        wanted = cfg.reference_data_version
        msg = f"version 2 reads reference data {REFERENCE_VERSION}, not {wanted}"
        raise ValueError(msg)
    ref = reference_data(REFERENCE_VERSION)
    sla = {**DEFAULT_SLA_DAYS_V2, **cfg.sla_days}
    return WorkflowDefinition(
        name=v1.NAME,
        version=VERSION_V2,
        title="SOCIEUX+ technical-assistance request",
        description=(
            "A partner institution asks for expertise, directly or through the EU Delegation; "
            "the team consults the Delegation and fine-tunes the request, the Commission "
            "approves, experts are mobilised, activities are delivered on site, remotely or "
            "both, evaluated and their results disseminated."
        ),
        roles=ROLES_V2,
        states=_states(sla, cfg.consultation_silence_working_days),
        transitions=_request_transitions() + _delivery_transitions(),
        guards=guards_v2(),
        settings={
            **cfg.model_dump(exclude={"sla_days", "reference_data_version", "retention"}),
            **v1.retention_settings(cfg.retention),
            "sla_days": sla,
            "reference_data_version": ref.version,
            "country_regions": {c.code: c.region for c in ref.countries.values()},
        },
        migrations=(MIGRATION_FROM_V1,),
        display=DISPLAY_V2,
    )


def _states(sla: Mapping[str, int], silence_days: int) -> tuple[StateDef, ...]:
    """Version 2's states, with their SLAs; consultation ends with the silence deadline."""
    return tuple(
        StateDef(
            name=name,
            final=final,
            sla_days=sla.get(name),
            description=text,
            deadlines=_silence(silence_days) if name == "consulting_delegation" else (),
        )
        for name, final, text in _STATES
    )


def _silence(working_days: int) -> tuple[DeadlineDef, ...]:
    """The Delegation's silence counts as consent: after ``working_days`` working days in
    consultation, the engine (``system``) records no objection."""
    note = f"No reply within {working_days} working days: silence counts as consent."
    return (
        DeadlineDef(
            name="silence_counts_as_consent",
            days=working_days,
            working_days=True,
            action="fire",
            trigger="deem_favourable",
            payload={"eu_delegation_opinion": {"verdict": "no_objection", "note": note}},
            reason="The EU Delegation did not reply in time.",
        ),
    )


MIGRATION_FROM_V1 = MigrationDef(
    from_version=1,
    state_map={"submitted": "submitted", "fine_tuned": "fine_tuned"},
    upcaster=UPCASTER,
    plan_roles=("socieux_team",),
    apply_roles=("socieux_team", "commission"),
    separate_duties=True,
    description="Requests not yet approved move to the fourth phase's rules.",
)
"""Version 1 requests in ``submitted`` or ``fine_tuned`` may move to version 2."""

_REQUESTERS = ("partner_institution", "eu_delegation")
_REQUEST_GUARDS = (
    "request_eligible",
    "request_complete",
    "submission_channel_matches",
    "institution_identified",
)

_PLAN_GUARDS = ("delegation_opinion_on_file", "action_plan_within_caps", "action_plan_valid")
_WITHDRAWABLE = ("submitted", "consulting_delegation", "revision_requested", "fine_tuned")


def _request_transitions() -> tuple[TransitionDef, ...]:
    """Version 1's request transitions with version 2's payloads, and the consultation."""
    changed: dict[str, dict[str, Any]] = {
        "submit": {"payload": RequestPayloadV2, "guards": _REQUEST_GUARDS},
        "resubmit": {"payload": RequestPayloadV2, "guards": _REQUEST_GUARDS},
        "fine_tune": {
            "payload": ActionPlanPayloadV2,
            "guards": _PLAN_GUARDS,
            "description": "Record the action plan (the Delegation's opinion is on file).",
        },
        "withdraw": {"source": _WITHDRAWABLE},
    }
    kept = tuple(t.model_copy(update=changed.get(t.trigger, {})) for t in v1.request_transitions())
    consultation = (
        TransitionDef(
            trigger="request_opinion",
            source=("submitted",),
            dest="consulting_delegation",
            roles=("socieux_team",),
            description="Ask the EU Delegation for its opinion on the request.",
        ),
        TransitionDef(
            trigger="give_opinion",
            source=("consulting_delegation",),
            dest="submitted",
            roles=("eu_delegation",),
            payload=OpinionPayload,
            guards=("opinion_valid",),
            description="The EU Delegation gives its opinion on the request.",
        ),
        TransitionDef(
            trigger="deem_favourable",
            source=("consulting_delegation",),
            dest="submitted",
            roles=("system",),
            payload=OpinionPayload,
            guards=("opinion_valid",),
            reason_required=True,
            description="Silence for the set working days counts as consent (no objection).",
        ),
    )
    return kept[:3] + consultation + kept[3:]


def _delivery_transitions() -> tuple[TransitionDef, ...]:
    """Version 1's delivery transitions with version 2's payloads and rules."""
    changed: dict[str, dict[str, Any]] = {
        "mobilise": {"payload": MobilisationPayloadV2},
        "record_activity": {
            "payload": ActivityRecordPayloadV2,
            "guards": ("activity_record_valid", "activity_recorded_by_own_expert"),
        },
    }
    return tuple(t.model_copy(update=changed.get(t.trigger, {})) for t in v1.delivery_transitions())

"""Payload models of version 2 of the technical-assistance workflow.

Version 2 keeps version 1's models where their shape is unchanged (approval, evaluation,
dissemination) and extends the others:

* the requesting institution carries a stable ``id`` (the registry's, e.g. ``KH-NSPC``);
* planned activities state their ``modality`` (no default) instead of ``mode``;
* the action plan no longer carries the Delegation's opinion: the Delegation records it
  itself (``give_opinion``); the plan may carry an ``opinion_waiver`` instead;
* each expert names the ``employer_id`` of their employer;
* activity records state the ``modality`` actually used.

Models that extend version 1's are subclasses of them, so version 1's guards that read
them still apply. Top-level keys stay distinct, as in version 1 (the engine merges each
payload into ``data``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workflows.technical_assistance.payloads import (
    ActivityRecordPayload,
    Code,
    Expert,
    Ident,
    Institution,
    MobilisationPayload,
    Note,
    RequestPayload,
)

__all__ = [
    "MODALITIES",
    "ActionPlanPayloadV2",
    "ActivityRecordPayloadV2",
    "ExpertV2",
    "InstitutionId",
    "InstitutionV2",
    "MobilisationPayloadV2",
    "Modality",
    "OpinionPayload",
    "OpinionV2",
    "OpinionWaiver",
    "PlannedActivityV2",
    "RequestPayloadV2",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

InstitutionId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,30}(-[A-Z0-9]{1,30}){0,4}$", max_length=60),
]
"""A stable institution id: the country code, then the registry's code (``KH-NSPC``)."""
Modality = Literal["on_site", "remote", "hybrid"]
"""How an activity is delivered: on site, remotely (the e-learning platform) or both."""
MODALITIES: tuple[str, ...] = ("on_site", "remote", "hybrid")


class InstitutionV2(Institution):
    """The requesting institution, with its stable id."""

    id: InstitutionId


class RequestPayloadV2(RequestPayload):
    """A request for technical assistance (``submit`` and ``resubmit``), version 2."""

    institution: InstitutionV2


class PlannedActivityV2(BaseModel):
    """One activity of the action plan, with its modality, expert-days and time window."""

    model_config = _FROZEN

    id: Ident
    type: Code
    title: str = Field(min_length=1, max_length=200)
    modality: Modality
    expert_days: int = Field(ge=1, le=1000)
    start: date
    end: date


class OpinionWaiver(BaseModel):
    """Why the team fine-tunes without consulting the Delegation (it submitted itself)."""

    model_config = _FROZEN

    reason: Note


class ActionPlanPayloadV2(BaseModel):
    """The fine-tuned action (``fine_tune``): planned activities, and an optional waiver of
    the Delegation's opinion."""

    model_config = _FROZEN

    activities: tuple[PlannedActivityV2, ...] = Field(default=(), max_length=50)
    opinion_waiver: OpinionWaiver | None = None


class OpinionV2(BaseModel):
    """The EU Delegation's opinion: ``no_objection`` is also what silence counts as."""

    model_config = _FROZEN

    verdict: Literal["favourable", "unfavourable", "no_objection"]
    note: Note = ""


class OpinionPayload(BaseModel):
    """The Delegation's opinion on the request (``give_opinion``)."""

    model_config = _FROZEN

    eu_delegation_opinion: OpinionV2


class ExpertV2(Expert):
    """One expert position, with the stable id of the expert's employer."""

    employer_id: InstitutionId


class MobilisationPayloadV2(MobilisationPayload):
    """The experts selected and contracted for the action (``mobilise``), version 2."""

    experts: tuple[ExpertV2, ...] = Field(default=(), max_length=100)


class ActivityRecordPayloadV2(ActivityRecordPayload):
    """What happened to one planned activity, with the modality actually used."""

    modality: Modality | None = None

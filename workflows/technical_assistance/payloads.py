"""Payload models of the technical-assistance workflow, one per trigger that carries data.

The models check shape, types and sizes. Whether the content satisfies the programme's
rules (eligibility, completeness, caps) is decided by the guards, so that a refusal names
the rule and is recorded with the inputs it read.

Each payload's top-level keys are distinct, because the engine merges a payload into the
instance's ``data`` (``{**data, **payload}``): the request's fields, then ``activities`` and
``eu_delegation_opinion``, ``approval_reference`` and ``action_code``, ``experts``,
``evaluation`` and ``products`` all stay side by side. Activity records are collected in
``data["activity_records"]``. Personal data is marked with :class:`engine.Personal`, which
names each field's data subject: the contact person (``contact:<request id>``) and each
expert (``expert:<roster id>``, the expert's ``id``). The engine stores those fields
encrypted per subject and erases them per subject (``docs/privacy.md``); the markers are
not part of the definitions' content hashes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from engine import Personal, PersonalStr

__all__ = [
    "Achievement",
    "ActionPlanPayload",
    "ActivityRecordPayload",
    "ApprovalPayload",
    "ContactPerson",
    "DisseminationPayload",
    "EuDelegationOpinion",
    "Evaluation",
    "EvaluationPayload",
    "Expert",
    "Institution",
    "KnowledgeProduct",
    "MobilisationPayload",
    "Participants",
    "PartnerFeedback",
    "PlannedActivity",
    "RequestPayload",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]
"""A reference-data code such as ``sp.insurance.pensions`` or ``public_authority``."""
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""An ISO 3166-1 alpha-2 country code."""
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
"""A short identifier (activity or expert id)."""
Title = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=4000)]
Note = Annotated[str, StringConstraints(max_length=2000)]
PersonName = Annotated[PersonalStr, StringConstraints(min_length=1, max_length=200)]
Email = Annotated[PersonalStr, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,188}\.[^@\s]+$")]
Phone = Annotated[PersonalStr, StringConstraints(pattern=r"^(\+?[0-9][0-9 ()./-]{4,29})?$")]
_CONTACT = Personal(subject="contact")
_EXPERT = Personal(subject="expert", id_field="id")


class Institution(BaseModel):
    """The requesting institution: its name, type and level (codes of the reference data)."""

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=200)
    acronym: str = Field(default="", max_length=30)
    type: Code
    level: Code


class ContactPerson(BaseModel):
    """The requesting institution's contact person (personal data)."""

    model_config = _FROZEN

    name: Annotated[PersonName, _CONTACT]
    email: Annotated[Email, _CONTACT]
    phone: Annotated[Phone, _CONTACT] = ""  # not Optional: the marker stays on the field
    position: str = Field(default="", max_length=200)


class RequestPayload(BaseModel):
    """A request for technical assistance (``submit`` and ``resubmit``)."""

    model_config = _FROZEN

    institution: Institution
    country: CountryCode
    channel: Literal["direct", "eu_delegation"]
    title: Title = ""
    areas: tuple[Code, ...] = Field(default=(), max_length=12)
    support_type: Literal["analytical", "know_how_transfer"]
    description: Text = ""
    objectives: tuple[Annotated[str, StringConstraints(max_length=500)], ...] = Field(
        default=(), max_length=10
    )
    desired_start: date
    contact: ContactPerson | None = None


class PlannedActivity(BaseModel):
    """One activity of the action plan, with its expert-days and its time window."""

    model_config = _FROZEN

    id: Ident
    type: Code
    title: str = Field(min_length=1, max_length=200)
    mode: Literal["on_site", "remote", "hybrid"] = "on_site"
    expert_days: int = Field(ge=1, le=1000)
    start: date
    end: date


class EuDelegationOpinion(BaseModel):
    """The EU Delegation's opinion: an unfavourable one needs a note, a waiver a reason."""

    model_config = _FROZEN

    verdict: Literal["favourable", "unfavourable", "waived"]
    note: Note = ""
    reason: Note = ""


class ActionPlanPayload(BaseModel):
    """The fine-tuned action (``fine_tune``): planned activities and the Delegation's opinion."""

    model_config = _FROZEN

    activities: tuple[PlannedActivity, ...] = Field(default=(), max_length=50)
    eu_delegation_opinion: EuDelegationOpinion | None = None


class ApprovalPayload(BaseModel):
    """The Commission's approval (``approve``): its reference and the action code."""

    model_config = _FROZEN

    approval_reference: str = Field(
        default="", max_length=60, pattern=r"^([A-Za-z0-9][A-Za-z0-9/._ -]*)?$"
    )
    action_code: str | None = Field(default=None, pattern=r"^\d{4}-\d{1,4}$")


class Expert(BaseModel):
    """One expert position in the Terms of Reference, for one activity."""

    model_config = _FROZEN

    id: Ident
    name: Annotated[PersonName, _EXPERT]
    nationality: CountryCode
    employer: str = Field(min_length=1, max_length=200)
    employer_type: Literal[
        "public_administration",
        "mandated_body",
        "social_partner",
        "agency",
        "university",
        "partner_country_institution",
    ]
    expertise: Code
    principal: bool = False
    days: int = Field(ge=1, le=365)
    activity_id: Ident


class MobilisationPayload(BaseModel):
    """The experts selected and contracted for the action (``mobilise``)."""

    model_config = _FROZEN

    experts: tuple[Expert, ...] = Field(default=(), max_length=100)


class Participants(BaseModel):
    """Participants of an activity, by sex."""

    model_config = _FROZEN

    female: int = Field(ge=0, le=100_000)
    male: int = Field(ge=0, le=100_000)
    other: int = Field(default=0, ge=0, le=100_000)


class ActivityRecordPayload(BaseModel):
    """What happened to one planned activity (``record_activity``): delivered or cancelled."""

    model_config = _FROZEN

    activity_id: Ident
    status: Literal["delivered", "cancelled"] = "delivered"
    actual_start: date | None = None
    actual_end: date | None = None
    participants: Participants | None = None
    days_worked: int | None = Field(default=None, ge=0, le=1000)
    report_reference: str = Field(default="", max_length=100)
    report_validated: bool = False
    cancellation_reason: Note = ""


class PartnerFeedback(BaseModel):
    """The partner institution's feedback."""

    model_config = _FROZEN

    score: int = Field(ge=1, le=5)
    would_recommend: bool
    comment: Note = ""


class Achievement(BaseModel):
    """The achievement against one objective of the request (numbered from 1)."""

    model_config = _FROZEN

    objective: int = Field(ge=1, le=10)
    rating: Literal["achieved", "partly_achieved", "not_achieved"]
    comment: Note = ""


class Evaluation(BaseModel):
    """Feedback from the partner, the experts and the participants, and the achievements."""

    model_config = _FROZEN

    partner: PartnerFeedback | None = None
    experts_score: int | None = Field(default=None, ge=1, le=5)
    participants_score: float | None = Field(default=None, ge=1, le=5)
    achievements: tuple[Achievement, ...] = Field(default=(), max_length=10)


class EvaluationPayload(BaseModel):
    """The evaluation of the action (``evaluate``)."""

    model_config = _FROZEN

    evaluation: Evaluation


class KnowledgeProduct(BaseModel):
    """A product that shares the action's results."""

    model_config = _FROZEN

    type: Literal["news", "case_study", "policy_brief", "knowledge_product"]
    title: str = Field(min_length=1, max_length=200)
    audience: str = Field(min_length=1, max_length=200)


class DisseminationPayload(BaseModel):
    """The products disseminating the action's results (``disseminate``)."""

    model_config = _FROZEN

    products: tuple[KnowledgeProduct, ...] = Field(default=(), max_length=20)

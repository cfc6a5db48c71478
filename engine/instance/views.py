"""Read models returned by the façade: small frozen pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import InvalidArgument
from engine.instance.hashing import storable_text
from engine.instance.identity import canonical_actor_id

__all__ = ["Actor", "AllowedReport", "GuardOutcome", "HistoryEntry", "InstanceView", "Refusal"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Actor(BaseModel):
    """Who issues a command: an ``id`` and the ``role`` they act in.

    ``id`` is kept in its canonical form (:func:`engine.instance.identity.canonical_actor_id`:
    NFKC, case kept); an id that is not acceptable (control or invisible characters,
    surrounding whitespace, mixed scripts, ...) or a role that is not storable text raises
    :class:`~engine.errors.InvalidArgument` from ``Actor(...)`` and :meth:`parse`.
    """

    model_config = _FROZEN

    id: str
    role: str = Field(min_length=1, max_length=100)

    def __init__(self, id: str, role: str) -> None:  # noqa: A002 - the public name is `id`
        try:
            super().__init__(id=id, role=role)
        except ValidationError as exc:
            raise InvalidArgument(_actor_problems(exc), field="actor") from None

    @field_validator("id")
    @classmethod
    def _canonical_id(cls, value: str) -> str:
        return canonical_actor_id(value)

    @field_validator("role")
    @classmethod
    def _storable_role(cls, value: str) -> str:
        if not storable_text(value):
            msg = "a role must be valid Unicode text without NUL characters"
            raise ValueError(msg)
        return value

    @classmethod
    def parse(cls, text: str) -> Actor:
        """Parse ``ROLE:ACTOR`` (the CLI's ``--as`` form)."""
        role, sep, actor_id = text.partition(":")
        if not sep or not role or not actor_id:
            msg = f"expected ROLE:ACTOR, got {text!r}"
            raise InvalidArgument(msg)
        return cls(actor_id, role)


def _actor_problems(exc: ValidationError) -> str:
    """The validation errors of an actor as one line, without echoing the input."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        msg = error["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in error["loc"])
        problems.append(
            msg if msg.startswith(("an actor id", "a role")) else f"actor {where}: {msg}"
        )
    return "; ".join(problems)


class InstanceView(BaseModel):
    """The state of one workflow instance at one version."""

    model_config = _FROZEN

    id: UUID
    workflow: str
    definition_version: int
    definition_hash: str
    state: str
    data: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    state_entered_at: datetime
    fired_by: dict[str, list[str]] = Field(default_factory=dict)
    acted_as: dict[str, list[str]] = Field(default_factory=dict)
    last_hash: str = ""
    open_deadlines: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)
    """The deadlines open at this version, by id (id, name, action, due_at, and the trigger
    or the role): replayed from the events, never from the clock. Left out of dumps."""
    evidence: list[dict[str, Any]] = Field(default_factory=list, exclude=True)
    """The evidence on file (type, title, sha256, size, media type, effective date,
    reference, validated; ``version``: its event), for guards. Left out of dumps."""
    corrections: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)
    """The corrections recorded, by version: target, changes, ``pending`` or ``applied``,
    requester and approver. Left out of dumps."""


class GuardOutcome(BaseModel):
    """One guard's result as recorded in an event."""

    model_config = _FROZEN

    name: str
    version: int
    ok: bool
    reason: str
    inputs: dict[str, Any]


class HistoryEntry(BaseModel):
    """One recorded event, as a step in an instance's timeline."""

    model_config = _FROZEN

    version: int
    at: datetime
    trigger: str
    source: str | None
    dest: str
    actor: str
    role: str
    reason: str | None
    payload: dict[str, Any]
    correlation_id: str | None
    causation_id: str | None
    guards: list[GuardOutcome]
    definition_hash: str
    hash: str
    prev_hash: str
    verified: bool
    """The stored event's hash recomputes from its stored fields (``False``: altered)."""
    amends: int | None = None
    """For a correction, the version it amends; for an approval, the correction's version."""
    amendment: dict[str, Any] | None = None
    """A correction's, approval's, evidence's or note's own record."""
    corrected_by: list[int] = Field(default_factory=list)
    """The versions of the corrections of this event (pending ones included)."""
    effective_at: datetime | None = None
    """When the fact happened, if the command said so and it differs from ``at``."""


class Refusal(BaseModel):
    """A trigger the actor may not fire now, with the error code and the reason."""

    model_config = _FROZEN

    trigger: str
    code: str
    reason: str


class AllowedReport(BaseModel):
    """What an actor may fire now (``allowed``) and why other triggers are refused.

    ``needs_payload`` lists allowed triggers whose guards could not be evaluated without
    the payload the command will bring.
    """

    model_config = _FROZEN

    instance_id: UUID
    state: str
    actor: Actor
    allowed: list[str]
    needs_payload: list[str]
    refused: list[Refusal]

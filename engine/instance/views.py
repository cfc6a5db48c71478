"""Read models returned by the façade: small frozen pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Actor", "AllowedReport", "GuardOutcome", "HistoryEntry", "InstanceView", "Refusal"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Actor(BaseModel):
    """Who issues a command: an ``id`` and the ``role`` they act in."""

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=100)

    def __init__(self, id: str, role: str) -> None:  # noqa: A002 - the public name is `id`
        super().__init__(id=id, role=role)

    @classmethod
    def parse(cls, text: str) -> Actor:
        """Parse ``ROLE:ACTOR`` (the CLI's ``--as`` form)."""
        role, sep, actor_id = text.partition(":")
        if not sep or not role or not actor_id:
            msg = f"expected ROLE:ACTOR, got {text!r}"
            raise ValueError(msg)
        return cls(actor_id, role)


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

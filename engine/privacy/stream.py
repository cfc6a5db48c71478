"""The privacy stream: every erasure is an instance of the engine's ``socieux-privacy``
workflow, so it is hash-chained, sealed, exported and verified (online and offline) like
any request, and its separation of duties is declared with the same rules.

One instance per subject and erasure (its id derives from the subject and the first key
version it erases). Steps: ``request_erasure`` (the requester, with the legal basis),
``approve_erasure`` (someone else: ``separation``), then ``erase_subject`` (the
``SubjectErased`` record: pseudonym, legal basis, requester and approver in the chain, no
personal data) or ``defer_erasure`` (``ErasureDeferred``: retention runs until ``due_at``,
or requests are still open) and ``erase_subject`` once due. ``place_hold`` and
``release_hold`` record legal holds with their reasons; a held erasure does not run.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from engine.definition.model import (
    EmptyPayload,
    Guard,
    GuardContext,
    GuardResult,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)

__all__ = [
    "APPROVE",
    "DEFER",
    "DISCLOSE",
    "DISCLOSER_ROLES",
    "DISCLOSURES",
    "ERASE",
    "HOLD",
    "OFFICER_ROLES",
    "PRIVACY_WORKFLOW",
    "RELEASE",
    "REQUEST",
    "REQUESTER_ROLES",
    "disclosures_definition",
    "privacy_definition",
    "stream_id",
]

PRIVACY_WORKFLOW = "socieux-privacy"
DISCLOSURES = "socieux-disclosures"
"""The workflow recording each decrypted export (one instance per export)."""
REQUEST, APPROVE, DEFER, ERASE = (
    "request_erasure",
    "approve_erasure",
    "defer_erasure",
    "erase_subject",
)
HOLD, RELEASE = "place_hold", "release_hold"
DISCLOSE = "disclose"
DISCLOSER_ROLES = ("privacy_officer", "auditor")
OFFICER_ROLES = ("privacy_officer",)
REQUESTER_ROLES = ("privacy_officer", "socieux_team")
_NAMESPACE = uuid.UUID("5b0c6f0e-7a55-4c1e-9d57-50c1e0c0ffee")
_FROZEN = ConfigDict(frozen=True, extra="forbid")
Subject = str


def stream_id(subject: str, key_version: int) -> uuid.UUID:
    """The privacy instance of the erasure of ``subject``'s keys from ``key_version`` on."""
    return uuid.uuid5(_NAMESPACE, f"{subject}\x00{key_version}")


class ErasureRequest(BaseModel):
    """Who is to be erased (a pseudonym) and on which legal basis."""

    model_config = _FROZEN
    subject: str = Field(min_length=1, max_length=200)
    legal_basis: str = Field(min_length=1, max_length=200)


class RetentionFacts(BaseModel):
    """What retention says at this step: when it ends (``None``: not started, requests
    still open), how many requests hold the subject's data and how many are still open."""

    model_config = _FROZEN
    due_at: datetime | None = None
    requests: int = Field(ge=0)
    open_requests: int = Field(ge=0)


class Disclosure(BaseModel):
    """A decrypted export: which instances (``None``: all) and how many fields it revealed."""

    model_config = _FROZEN
    instances: tuple[str, ...] | None = Field(default=None, max_length=10_000)
    fields: int = Field(ge=0)


class HoldPayload(BaseModel):
    """A legal hold's reference (an audit, an appeal, an OLAF case number)."""

    model_config = _FROZEN
    hold: str = Field(min_length=1, max_length=100)


def _retention_over(ctx: GuardContext) -> GuardResult:
    facts = ctx.payload
    assert isinstance(facts, RetentionFacts)
    due = facts.due_at is not None and facts.due_at <= ctx.now
    ok = facts.open_requests == 0 and (facts.due_at is None or due)
    reason = "retention over (Financial Regulation Art. 133)" if ok else (
        "retention still running" if facts.open_requests == 0 else "requests still open"
    )  # fmt: skip
    return GuardResult(ok, reason, {"due_at": str(facts.due_at), "open": facts.open_requests})


def open_holds(data: dict[str, object]) -> list[str]:
    """The holds placed and not released, oldest first."""
    placed = [str(h.get("hold")) for h in _records(data.get("holds"))]
    released = [str(h.get("hold")) for h in _records(data.get("releases"))]
    for r in released:
        if r in placed:
            placed.remove(r)
    return placed


def _records(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _no_hold(ctx: GuardContext) -> GuardResult:
    held = open_holds(dict(ctx.view.data))
    return GuardResult(not held, "no legal hold" if not held else "on legal hold", {"holds": held})


def _hold_open(ctx: GuardContext) -> GuardResult:
    hold = ctx.payload
    assert isinstance(hold, HoldPayload)
    ok = hold.hold in open_holds(dict(ctx.view.data))
    return GuardResult(ok, "the hold is open" if ok else "no such open hold", {"hold": hold.hold})


# long function: the privacy workflow's whole definition, one declaration read together.
def privacy_definition() -> WorkflowDefinition:
    """The engine's privacy workflow (version 1)."""
    pending = ("requested", "approved", "deferred")
    return WorkflowDefinition(
        name=PRIVACY_WORKFLOW,
        version=1,
        title="Erasure of a data subject (GDPR Art. 17, retention per Financial Regulation)",
        roles=("privacy_officer", "socieux_team", "auditor"),
        states=(
            StateDef(name="requested"),
            StateDef(name="approved"),
            StateDef(name="deferred", description="restricted until retention ends"),
            StateDef(name="erased", final=True),
        ),
        transitions=(
            TransitionDef(
                trigger=REQUEST,
                dest="requested",
                roles=REQUESTER_ROLES,
                payload=ErasureRequest,
                reason_required=True,
            ),
            TransitionDef(
                trigger=APPROVE,
                source=("requested",),
                dest="approved",
                roles=OFFICER_ROLES,
                separation=(REQUEST,),
                reason_required=True,
                payload=EmptyPayload,
            ),
            TransitionDef(
                trigger=DEFER,
                source=("approved",),
                dest="deferred",
                roles=OFFICER_ROLES,
                payload=RetentionFacts,
            ),
            TransitionDef(
                trigger=ERASE,
                source=("approved", "deferred"),
                dest="erased",
                roles=OFFICER_ROLES,
                payload=RetentionFacts,
                guards=("retention_over", "no_legal_hold"),
            ),
            TransitionDef(
                trigger=HOLD,
                source=pending,
                internal=True,
                collect_as="holds",
                roles=("privacy_officer", "auditor"),
                payload=HoldPayload,
                reason_required=True,
            ),
            TransitionDef(
                trigger=RELEASE,
                source=pending,
                internal=True,
                collect_as="releases",
                roles=("privacy_officer", "auditor"),
                payload=HoldPayload,
                reason_required=True,
                guards=("hold_open",),
            ),
        ),
        guards=(
            Guard("retention_over", _retention_over, description="retention has ended"),
            Guard("no_legal_hold", _no_hold, description="no legal hold is open"),
            Guard("hold_open", _hold_open, description="the hold released is open"),
        ),
    )


def disclosures_definition() -> WorkflowDefinition:
    """The engine's record of decrypted exports (version 1): who, why, what scope."""
    return WorkflowDefinition(
        name=DISCLOSURES,
        version=1,
        title="Decrypted exports of personal data (accesses)",
        roles=("privacy_officer", "auditor"),
        states=(StateDef(name="disclosed", final=True),),
        transitions=(
            TransitionDef(
                trigger=DISCLOSE,
                dest="disclosed",
                roles=DISCLOSER_ROLES,
                payload=Disclosure,
                reason_required=True,
            ),
        ),
    )

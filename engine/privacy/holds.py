"""The legal-hold register: holds placed on records before (or without) any erasure request.

Financial Regulation Art. 133 keeps records longer "while an audit, appeal, litigation or OLAF
investigation is open"; such a hold concerns records (requests) or people, and is usually
placed long before anyone asks to be forgotten. The register is one instance of the engine's
``socieux-legal-holds`` workflow, so every placement and release is a hash-chained, sealed,
exported and verified event with its actor, role and reason, and an auditor reads the whole
register from one stream.

A hold names a reference (``OLAF-2026-17``) and its scope: data subjects (pseudonyms) and/or
requests (instance ids). While it is open, no erasure of a subject in its scope, or of a
subject whose data one of its requests holds, is carried out: the erasure is deferred (the
data restricted) and ``socieux privacy due`` skips it. Holds placed on an erasure itself
(:mod:`engine.privacy.stream`) keep working as before.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    "CLOSE_REGISTER",
    "HOLD_ROLES",
    "LEGAL_HOLDS",
    "OPEN_REGISTER",
    "PLACE",
    "REGISTER_ID",
    "RELEASE",
    "LegalHold",
    "LegalHoldRelease",
    "legal_holds_definition",
    "open_legal_holds",
]

LEGAL_HOLDS = "socieux-legal-holds"
"""The workflow of the legal-hold register (one instance: :data:`REGISTER_ID`)."""
REGISTER_ID = uuid.UUID("5b0c6f0e-7a55-4c1e-9d57-1e6a1401d000")
OPEN_REGISTER, PLACE, RELEASE = "open_register", "place_legal_hold", "release_legal_hold"
CLOSE_REGISTER = "close_register"
HOLD_ROLES = ("privacy_officer", "auditor")
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_Ref = str


class LegalHold(BaseModel):
    """A hold's reference and scope: data subjects (pseudonyms) and/or requests (ids)."""

    model_config = _FROZEN
    hold: str = Field(min_length=1, max_length=100)
    subjects: tuple[str, ...] = Field(default=(), max_length=1_000)
    requests: tuple[str, ...] = Field(default=(), max_length=1_000)

    @model_validator(mode="after")
    def _scoped(self) -> LegalHold:
        if not self.subjects and not self.requests:
            msg = "a legal hold names at least one subject or request"
            raise ValueError(msg)
        return self


class LegalHoldRelease(BaseModel):
    """The reference of the hold released."""

    model_config = _FROZEN
    hold: str = Field(min_length=1, max_length=100)


def open_legal_holds(data: dict[str, object]) -> dict[_Ref, LegalHold]:
    """The register's open holds by reference (placed and not released), in placing order."""
    found: dict[_Ref, LegalHold] = {}
    placed = data.get("placed")
    released = data.get("released")
    for item in placed if isinstance(placed, list) else []:
        if isinstance(item, dict):
            found[str(item.get("hold"))] = LegalHold.model_validate(item)
    for item in released if isinstance(released, list) else []:
        if isinstance(item, dict):
            found.pop(str(item.get("hold")), None)
    return found


def _new_hold(ctx: GuardContext) -> GuardResult:
    hold = ctx.payload
    assert isinstance(hold, LegalHold)
    ok = hold.hold not in open_legal_holds(dict(ctx.view.data))
    why = "a new hold" if ok else "a hold of that reference is already open"
    return GuardResult(ok, why, {"hold": hold.hold})


def _open_hold(ctx: GuardContext) -> GuardResult:
    hold = ctx.payload
    assert isinstance(hold, LegalHoldRelease)
    ok = hold.hold in open_legal_holds(dict(ctx.view.data))
    return GuardResult(ok, "the hold is open" if ok else "no such open hold", {"hold": hold.hold})


def _none_open(ctx: GuardContext) -> GuardResult:
    held = sorted(open_legal_holds(dict(ctx.view.data)))
    return GuardResult(
        not held, "no hold is open" if not held else "holds are open", {"holds": held}
    )


def legal_holds_definition() -> WorkflowDefinition:
    """The engine's legal-hold register (version 1)."""
    return WorkflowDefinition(
        name=LEGAL_HOLDS,
        version=1,
        title="Legal holds on records (audits, appeals, litigation, OLAF investigations)",
        roles=(*HOLD_ROLES, "socieux_team"),
        states=(
            StateDef(name="open", description="the register is kept"),
            StateDef(name="closed", final=True, description="the programme's records closed"),
        ),
        transitions=(
            TransitionDef(
                trigger=OPEN_REGISTER,
                dest="open",
                roles=HOLD_ROLES,
                payload=EmptyPayload,
                reason_required=True,
                description="Open the register (with the first hold).",
            ),
            TransitionDef(
                trigger=PLACE,
                source=("open",),
                internal=True,
                collect_as="placed",
                roles=HOLD_ROLES,
                payload=LegalHold,
                reason_required=True,
                guards=("hold_new",),
                description="Place a hold on subjects and/or requests.",
            ),
            TransitionDef(
                trigger=RELEASE,
                source=("open",),
                internal=True,
                collect_as="released",
                roles=HOLD_ROLES,
                payload=LegalHoldRelease,
                reason_required=True,
                guards=("hold_placed",),
                description="Lift a hold: the erasures it blocked may run when due.",
            ),
            TransitionDef(
                trigger=CLOSE_REGISTER,
                source=("open",),
                dest="closed",
                roles=("privacy_officer",),
                payload=EmptyPayload,
                reason_required=True,
                guards=("no_hold_open",),
                description="Close the register when the programme's records close.",
            ),
        ),
        guards=(
            Guard("hold_new", _new_hold, description="no open hold has that reference"),
            Guard("hold_placed", _open_hold, description="the hold released is open"),
            Guard("no_hold_open", _none_open, description="every hold is released"),
        ),
    )

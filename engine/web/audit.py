"""The Audit page (latest verify run, seals and their signers, recent refusals) and the
Operations page (projections, hooks, parked events)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from engine.facade import Engine
from projections.audit_trail import AuditRow

if TYPE_CHECKING:
    from engine.audit.report import Seal
    from engine.hooks.types import HookStatus, ParkedEvent
    from engine.projection.parking import ParkedProjectionEvent
    from engine.projection.runner import ProjectionStatus

__all__ = ["AuditPage", "OperationsPage", "VerifyRunSummary", "audit_page", "operations_page"]

VERIFY_COMMAND = "socieux audit verify"
"""The command that checks the whole log again (and records a verify run)."""
RECENT_EVENTS = 500
"""How far back in the log the Audit page looks for refusals."""
REFUSALS_SHOWN = 20


@dataclass(frozen=True)
class VerifyRunSummary:
    """A recorded verify run, as the Audit page shows it."""

    at: datetime
    command: str
    ok: bool
    events: int
    instances: int
    seals: int
    signatures: int
    problems: int
    problem_list: tuple[str, ...] = field(default=())
    heads: int | None = None
    """Tree heads checked, when the run records them."""


@dataclass(frozen=True)
class SealRow:
    """A seal and its signer's key fingerprint (``None``: not signed)."""

    seal: Seal
    fingerprint: str | None


@dataclass(frozen=True)
class AuditPage:
    """What an auditor checks first."""

    run: VerifyRunSummary | None
    runs_supported: bool
    seals: tuple[SealRow, ...]
    refusals: tuple[AuditRow, ...]
    refusal_triggers: tuple[str, ...]
    looked_back: int
    command: str = VERIFY_COMMAND


def fingerprint(public_key: str) -> str:
    """``SHA256:`` and the first 16 hex digits of the SHA-256 of the key's bytes."""
    try:
        raw = bytes.fromhex(public_key)
    except ValueError:
        raw = public_key.encode()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return "SHA256:" + ":".join(digest[i : i + 4] for i in range(0, 16, 4))


def latest_run(engine: Engine) -> tuple[bool, VerifyRunSummary | None]:
    """Whether this engine records verify runs, and the newest one if any."""
    runs_of = getattr(engine, "verify_runs", None)
    if not callable(runs_of):
        return False, None
    runs = list(runs_of(limit=1))
    if not runs:
        return True, None
    r = runs[0]
    return True, VerifyRunSummary(
        at=r.at,
        command=str(r.command),
        ok=bool(r.ok),
        events=int(r.events),
        instances=int(r.instances),
        seals=int(r.seals),
        signatures=int(r.signatures),
        problems=int(r.problems),
        problem_list=tuple(str(p) for p in getattr(r, "problem_list", ())),
        heads=int(r.heads) if getattr(r, "heads", None) is not None else None,
    )


def refusal_triggers(engine: Engine) -> set[str]:
    """Triggers whose definition requires a reason (turning down, sending back, stopping):
    a refused command itself writes nothing, so these recorded refusals are what the log
    holds."""
    return {
        t.trigger
        for c in engine.registry.all()
        for t in c.definition.transitions
        if t.reason_required
    }


def _recent_refusals(engine: Engine, triggers: set[str]) -> tuple[AuditRow, ...]:
    total = engine.audit_trail(limit=1).total
    start = max(0, total - RECENT_EVENTS)
    recent = engine.audit_trail(offset=start, limit=RECENT_EVENTS)
    rows = [r for r in recent if isinstance(r, AuditRow) and r.trigger in triggers]
    return tuple(reversed(rows[-REFUSALS_SHOWN:]))


def audit_page(engine: Engine) -> AuditPage:
    """The latest verify run, every seal (newest first), recent refusals."""
    supported, run = latest_run(engine)
    seals = tuple(
        SealRow(s, fingerprint(s.public_key) if s.public_key else None)
        for s in reversed(engine.seals())
    )
    triggers = refusal_triggers(engine)
    return AuditPage(
        run=run,
        runs_supported=supported,
        seals=seals,
        refusals=_recent_refusals(engine, triggers),
        refusal_triggers=tuple(sorted(triggers)),
        looked_back=RECENT_EVENTS,
    )


@dataclass(frozen=True)
class OperationsPage:
    """Where the projections and the host apps' subscribers stand."""

    mode: str
    projections: tuple[ProjectionStatus, ...]
    parked_projection_events: tuple[ParkedProjectionEvent, ...]
    subscribers: tuple[HookStatus, ...]
    parked: tuple[ParkedEvent, ...]


def operations_page(engine: Engine) -> OperationsPage:
    """Projection positions and lag; subscribers, their leases and parked events."""
    return OperationsPage(
        mode=str(engine.projection_mode),
        projections=tuple(engine.projection_status()),
        parked_projection_events=tuple(engine.parked_projection_events()),
        subscribers=tuple(engine.subscriptions()),
        parked=tuple(engine.parked()),
    )

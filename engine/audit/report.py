"""The audit's read models: integrity reports, seals and export summaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine.audit.offline.chain import Problem
from engine.audit.offline.seal_record import SealRecord

__all__ = [
    "ExportSummary",
    "IntegrityProblem",
    "IntegrityReport",
    "ProblemKind",
    "Seal",
    "problem_model",
    "report_from",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
ProblemKind = Literal[
    "altered", "missing", "reordered", "inserted", "seal", "head", "rule", "id_form"
]


class IntegrityProblem(BaseModel):
    """One thing that does not verify.

    ``kind`` is ``altered``, ``missing``, ``reordered`` or ``inserted`` for an event (with
    its instance and version); ``rule`` for an event that breaks its workflow's rules
    (``rule`` names which: ``first_event``, ``source``, ``trigger``, ``dest``, ``role``,
    ``separation``, ``collect_as``, ``guards``, ``reason`` or ``definition``); ``id_form``
    for a row whose instance id is not in the store's canonical form; or ``seal`` for a
    seal that no longer matches the log, is missing from the chain of seals, or whose
    signature fails; ``head`` for a tree head the log no longer matches (its root, its
    size, its signature, or its consistency with the next head). ``position`` is the
    log's notification id where known; ``line`` the line of an export file.
    """

    model_config = _FROZEN

    kind: ProblemKind
    instance_id: UUID | None
    version: int | None
    detail: str
    position: int | None = None
    line: int | None = None
    rule: str | None = None


class IntegrityReport(BaseModel):
    """The result of a verification: ``ok`` when ``problems`` is empty."""

    model_config = _FROZEN

    ok: bool
    events_checked: int
    instances_checked: int
    seals_checked: int
    signatures_checked: int = 0
    heads_checked: int = 0
    problems: list[IntegrityProblem]
    source: str = ""

    def summary(self) -> str:
        """One line: what was checked and what was found."""
        checked = (
            f"{self.events_checked} events in {self.instances_checked} instances, "
            f"{self.seals_checked} seals"
            + (f", {self.heads_checked} tree heads" if self.heads_checked else "")
        )
        if self.ok:
            return f"verified {checked}: no problems"
        first = self.problems[0]
        where = f" ({first.instance_id} v{first.version})" if first.instance_id else ""
        return (
            f"{len(self.problems)} problem(s) in {checked}; first: {first.kind}{where}: "
            f"{first.detail}"
        )


class Seal(BaseModel):
    """A recorded seal: the running hash of the whole log up to notification ``position``."""

    model_config = _FROZEN

    seq: int
    position: int
    events: int
    running_hash: str
    sealed_at: datetime
    heads_count: int
    heads_hash: str
    previous: str
    seal_hash: str
    public_key: str | None = None
    signature: str | None = None

    @classmethod
    def of(cls, record: SealRecord) -> Seal:
        """The model of a stored seal."""
        return cls(
            seq=record.seq,
            position=record.position,
            events=record.events,
            running_hash=record.running_hash,
            sealed_at=datetime.fromisoformat(record.sealed_at),
            heads_count=record.heads_count,
            heads_hash=record.heads_hash,
            previous=record.previous,
            seal_hash=record.seal_hash,
            public_key=record.public_key,
            signature=record.signature,
        )


class ExportSummary(BaseModel):
    """What an export wrote."""

    model_config = _FROZEN

    schema_id: str
    events: int
    seals: int
    lines: int
    definitions: int = 0
    instance: UUID | None = None
    since: datetime | None = None


def _uuid_or_none(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None


def problem_model(p: Problem) -> IntegrityProblem:
    """A checker finding as a model (an instance id that is not a UUID goes in the detail)."""
    iid = _uuid_or_none(p.instance_id)
    detail = p.detail if iid or not p.instance_id else f"{p.detail} (instance {p.instance_id!r})"
    return IntegrityProblem.model_validate(
        {
            "kind": p.kind,
            "instance_id": iid,
            "version": p.version,
            "detail": detail,
            "position": p.position,
            "line": p.line,
            "rule": p.rule,
        }
    )


def report_from(
    problems: Iterable[Problem],
    *,
    events: int,
    instances: int,
    seals: int,
    signatures: int,
    source: str,
    heads: int = 0,
) -> IntegrityReport:
    """Build a report; problems are sorted by seal first, then instance, version and line."""
    models = [problem_model(p) for p in problems]
    models.sort(
        key=lambda m: (
            m.kind not in ("seal", "head"),
            str(m.instance_id or ""),
            m.version or 0,
            m.line or 0,
            m.position or 0,
        )
    )
    return IntegrityReport(
        ok=not models,
        events_checked=events,
        instances_checked=instances,
        seals_checked=seals,
        signatures_checked=signatures,
        heads_checked=heads,
        problems=models,
        source=source,
    )

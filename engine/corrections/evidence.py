"""Evidence by fingerprint, and notes: what they record, and matching files against evidence.

An :class:`Evidence` is what ``attach_evidence`` records: the document's type, title,
sha256, size, media type and effective date, an optional reference (the one a payload
cites, e.g. an activity record's ``report_reference``) and whether it was validated; the
document itself stays outside the engine. :func:`match_files` says which recorded evidence
each file matches (same sha256 and size), or that it matches none.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.commands.compiled import CompiledWorkflow
from engine.corrections.service import Decide, Decided
from engine.definition.audit_policy import AuditPolicy
from engine.errors import InvalidArgument, PermissionDenied
from engine.instance import amendments as am
from engine.instance.aggregate import WorkflowInstance
from engine.instance.views import Actor

__all__ = [
    "Evidence",
    "EvidenceMatch",
    "Note",
    "evidence_decision",
    "file_fingerprint",
    "match_files",
    "note_decision",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
M = TypeVar("M", bound=BaseModel)


class Evidence(BaseModel):
    """A supporting document, by fingerprint."""

    model_config = _FROZEN

    type: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0, le=2**53)
    media_type: str = Field(
        pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$"
    )
    effective_date: date
    reference: str = Field(default="", max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
    validated: bool = False


class Note(BaseModel):
    """A note on a request: its text and who may see it."""

    model_config = _FROZEN

    text: str = Field(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")
    visibility: Literal["internal", "public"] = "internal"


class EvidenceMatch(BaseModel):
    """One file checked against an instance's recorded evidence."""

    model_config = _FROZEN

    file: str
    sha256: str
    size: int
    matches: list[int]
    """The versions of the ``EvidenceAttached`` events it matches (empty: none)."""
    titles: list[str] = []


def parsed(model: type[M], values: Mapping[str, Any], what: str) -> M:
    """``values`` as ``model``, or one ``InvalidArgument`` listing every problem."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or what}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        )
        raise InvalidArgument(f"invalid {what}: {problems}", argument=what) from None


def evidence_decision(entry: Evidence) -> Decide:
    """The decision of attaching ``entry`` (a ``Decide`` for the amendment service)."""

    def decide(
        agg: WorkflowInstance, compiled: CompiledWorkflow, policy: AuditPolicy, who: Actor
    ) -> Decided:
        del agg, compiled
        if entry.type not in policy.evidence_types:
            known = ", ".join(policy.evidence_types)
            raise InvalidArgument(f"unknown evidence type {entry.type!r} (known: {known})",
                                  argument="type")  # fmt: skip
        if entry.validated and who.role not in policy.validate_roles:
            allowed = ", ".join(policy.validate_roles) or "none"
            why = f"role {who.role!r} may not attach validated evidence (allowed: {allowed})"
            raise PermissionDenied(am.EVIDENCE_TRIGGER, who.role, who.id, "role", why)
        record = entry.model_dump(mode="json")
        return Decided(WorkflowInstance.EvidenceAttached, "evidence", record, [])

    return decide


def note_decision(note: Note) -> Decide:
    """The decision of recording ``note``."""

    def decide(
        agg: WorkflowInstance, compiled: CompiledWorkflow, policy: AuditPolicy, who: Actor
    ) -> Decided:
        del agg, compiled, policy, who
        return Decided(WorkflowInstance.Noted, "note", note.model_dump(mode="json"), [])

    return decide


def file_fingerprint(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The sha256 (hex) and size in bytes of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def match_files(
    evidence: Sequence[Mapping[str, Any]], paths: Iterable[str | os.PathLike[str]]
) -> list[EvidenceMatch]:
    """Each file against ``evidence`` (records with ``sha256``, ``size``, ``version``)."""
    out: list[EvidenceMatch] = []
    for path in paths:
        try:
            sha, size = file_fingerprint(path)
        except OSError as exc:
            msg = f"cannot read {os.fspath(path)!s}: {exc.strerror or type(exc).__name__}"
            raise InvalidArgument(msg, argument="files") from None
        found = [e for e in evidence if e.get("sha256") == sha and e.get("size") == size]
        out.append(EvidenceMatch(file=os.fspath(path), sha256=sha, size=size,
                                 matches=[int(e["version"]) for e in found],
                                 titles=[str(e.get("title", "")) for e in found]))  # fmt: skip
    return out

"""The façade's audit access: verify, seal, export, explain, diff, replay, offline files.

Each call takes the narrow :class:`~engine.audit.source.AuditSource`, never the engine.
The modules behind it are imported on first use, so opening an engine stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from uuid import UUID

from engine.audit.source import AuditSource
from engine.errors import InvalidArgument
from engine.persistence.store import translate_errors

if TYPE_CHECKING:
    from engine.audit.definitions import InstalledDefinitions
    from engine.audit.explain import Explanation, StateDiff
    from engine.audit.heads import TreeHead
    from engine.audit.offline.tree_head import TreeHeadRecord
    from engine.audit.proofs import BundleSummary, ConsistencyProof, HeadRef
    from engine.audit.replay import ReplayReport
    from engine.audit.report import ExportSummary, IntegrityReport, Seal
    from engine.audit.runs import VerifyRun
    from engine.audit.verify import Progress, PublicKey

__all__ = ["AuditService", "read_witness", "verify_bundle_file", "verify_export_file"]


@dataclass(frozen=True)
class AuditService:
    """Audit over one engine's store (times come from ``now``, the engine's clock)."""

    source: AuditSource
    now: Callable[[], datetime]

    def verify(
        self,
        *,
        public_key: PublicKey | None,
        progress: Progress | None,
        against: str | os.PathLike[str] | None = None,
        command: str = "Engine.verify",
    ) -> IntegrityReport:
        """Every hash, chain, seal and tree head of the store (and the heads in the witness
        file ``against``), and every step against the rules of the definition its instance
        pinned (an unknown definition is itself a problem); recorded as a verify run."""
        from engine.audit.runs import record_run, run_of
        from engine.audit.verify import verify_store

        s = self.source
        witnessed = read_witness(against) if against is not None else None
        report = verify_store(
            s.app, s.sql, label=s.label, definitions=_definitions(s),
            public_key=public_key, progress=progress, against=witnessed,
        )  # fmt: skip
        if not s.read_only:
            with translate_errors("recording the verification", s.label):
                record_run(s.sql, run_of(report, at=self.now(), command=command))
        return report

    def verify_runs(self, limit: int) -> list[VerifyRun]:
        """The latest ``limit`` verifications, newest first."""
        from engine.audit.runs import list_runs

        with translate_errors("reading verify runs", self.source.label):
            return list_runs(self.source.sql, limit=limit)

    def head(self, *, key: str | os.PathLike[str] | None, rebuild: bool = False) -> TreeHead:
        """Catch the Merkle tree up and record a tree head (signed with ``key``)."""
        from engine.audit.heads import make_head

        s = self.source
        return make_head(s.app, s.sql, label=s.label, now=self.now(), key=key, rebuild=rebuild)

    def heads(self) -> list[TreeHead]:
        """Every recorded tree head, oldest first."""
        from engine.audit.heads import list_heads

        return list_heads(self.source.sql, label=self.source.label)

    def prove(self, out: TextIO, *, instance: UUID, head: int | None) -> BundleSummary:
        """Write the proof bundle of one request against a tree head."""
        from engine.audit.proofs import write_bundle

        s = self.source
        return write_bundle(
            s.app, s.sql, out, label=s.label, instance=instance, head=head,
            definitions=_definitions(s),
        )  # fmt: skip

    def consistency(self, old: HeadRef, new: HeadRef) -> ConsistencyProof:
        """The consistency proof between two tree heads, checked."""
        from engine.audit.proofs import consistency

        return consistency(self.source.sql, old, new, label=self.source.label)

    def seal(self, *, key: str | os.PathLike[str] | None) -> Seal:
        """Seal the log as it is now (signed with ``key`` when given)."""
        from engine.audit.seals import seal_log

        s = self.source
        return seal_log(s.app, s.sql, label=s.label, now=self.now(), key=key)

    def seals(self) -> list[Seal]:
        """Every recorded seal, oldest first."""
        from engine.audit.seals import list_seals

        return list_seals(self.source.sql, label=self.source.label)

    def export(
        self,
        out: TextIO,
        *,
        instance: UUID | None,
        since: datetime | None,
        progress: Progress | None,
    ) -> ExportSummary:
        """Write the log (or one instance, or the log from ``since``), its seals and the
        definitions its events pin."""
        from engine.audit.export import write_export

        s = self.source
        return write_export(
            s.app, s.sql, out, label=s.label, instance=instance, since=since, now=self.now(),
            progress=progress, definitions=_definitions(s),
        )  # fmt: skip

    def explain(self, iid: UUID, version: int) -> Explanation:
        """Who fired version ``version``, as what, why, and what each guard read."""
        from engine.audit.explain import explain

        return explain(self.source, iid, version)

    def diff(self, iid: UUID, since: datetime, until: datetime) -> StateDiff:
        """What changed between two times, and by which steps."""
        from engine.audit.explain import diff

        return diff(self.source, iid, since, until)

    def replay_check(self, *, progress: Callable[[int], None] | None) -> ReplayReport:
        """Rebuild every instance with the definitions installed now."""
        from engine.audit.replay import replay_check

        return replay_check(self.source, progress=progress)


def _definitions(source: AuditSource) -> InstalledDefinitions:
    """The installed definitions, then those recorded in the store."""
    from engine.audit.definitions import InstalledDefinitions
    from engine.persistence.definitions import DefinitionStore

    return InstalledDefinitions(source.registry, DefinitionStore(source.sql).body)


def verify_export_file(
    path: str | os.PathLike[str], *, public_key: PublicKey | None = None
) -> IntegrityReport:
    """Check an export offline (no database): hashes, chains, seals and signatures, and the
    workflow rules of every instance against the definitions the export carries."""
    from engine.audit.offline.verifier import ExportFormatError, verify_file
    from engine.audit.report import report_from
    from engine.audit.verify import public_key_check

    try:
        r = verify_file(Path(path), signature_check=public_key_check(public_key))
    except ExportFormatError as exc:
        raise InvalidArgument(str(exc)) from None
    return report_from(
        r.problems,
        events=r.events,
        instances=r.instances,
        seals=r.seals,
        signatures=r.signatures,
        source=f"{path}: {r.scope}",
    )


def read_witness(path: str | os.PathLike[str]) -> list[TreeHeadRecord]:
    """The tree heads of a witness file (``InvalidArgument`` if it is not one)."""
    from engine.audit.offline.tree_head import MAX_WITNESS_FILE, parse_witness

    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_WITNESS_FILE + 1)
        if len(data) > MAX_WITNESS_FILE:
            raise InvalidArgument(f"{path} is larger than {MAX_WITNESS_FILE} bytes")
        heads = parse_witness(data.decode("utf-8"))
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a malformed line, or not UTF-8
        raise InvalidArgument(f"{path}: {exc}") from None
    if not heads:
        raise InvalidArgument(f"{path} holds no tree head")
    return heads


def verify_bundle_file(
    path: str | os.PathLike[str], *, public_key: PublicKey | None = None
) -> IntegrityReport:
    """Check a proof bundle offline (no database): head, inclusion proofs, chain, rules."""
    from engine.audit.offline.bundle import BundleFormatError, verify_bundle
    from engine.audit.report import report_from
    from engine.audit.verify import head_key_check

    try:
        r = verify_bundle(Path(path), signature=head_key_check(public_key))
    except BundleFormatError as exc:
        raise InvalidArgument(str(exc)) from None
    head = r.head.label if r.head else "no head"
    return report_from(
        r.problems,
        events=r.events,
        instances=1,
        seals=0,
        signatures=r.signatures,
        heads=1,
        source=f"{path}: proof bundle of {r.instance} against {head}",
    )

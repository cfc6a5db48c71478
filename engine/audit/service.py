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

if TYPE_CHECKING:
    from engine.audit.definitions import InstalledDefinitions
    from engine.audit.explain import Explanation, StateDiff
    from engine.audit.replay import ReplayReport
    from engine.audit.report import ExportSummary, IntegrityReport, Seal
    from engine.audit.verify import Progress, PublicKey

__all__ = ["AuditService", "verify_export_file"]


@dataclass(frozen=True)
class AuditService:
    """Audit over one engine's store (times come from ``now``, the engine's clock)."""

    source: AuditSource
    now: Callable[[], datetime]

    def verify(self, *, public_key: PublicKey | None, progress: Progress | None) -> IntegrityReport:
        """Every hash, chain and seal of the store, and every step against the rules of the
        definition its instance pinned (an unknown definition is itself a problem)."""
        from engine.audit.verify import verify_store

        s = self.source
        return verify_store(
            s.app, s.sql, label=s.label, definitions=_definitions(s),
            public_key=public_key, progress=progress,
        )  # fmt: skip

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

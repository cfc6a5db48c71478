"""The engine's audit methods (verify, seal, export, explain, diff, replay), as a mixin of
:class:`engine.Engine`: each body checks its arguments and delegates to
:class:`~engine.audit.service.AuditService`, which takes the narrow
:class:`~engine.audit.source.AuditSource`, never the engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TextIO, TypeVar
from uuid import UUID

from engine.commands import arguments as args
from engine.errors import InvalidArgument

if TYPE_CHECKING:
    from engine.audit.explain import Explanation, StateDiff
    from engine.audit.heads import TreeHead
    from engine.audit.proofs import BundleSummary, ConsistencyProof, HeadRef
    from engine.audit.replay import ReplayReport
    from engine.audit.report import ExportSummary, IntegrityReport, Seal
    from engine.audit.runs import VerifyRun
    from engine.audit.service import AuditService
    from engine.audit.verify import Progress, PublicKey
    from engine.queries.reads import Reader

__all__ = ["AuditMethods"]

T = TypeVar("T")


class AuditMethods:
    """The audit part of the public contract (documented in ``docs/audit.md``)."""

    _audit: AuditService
    _reader: Reader

    def verify(
        self,
        *,
        public_key: PublicKey | None = None,
        progress: Progress | None = None,
        against: str | os.PathLike[str] | None = None,
        command: str | None = None,
    ) -> IntegrityReport:
        """Recompute every event's hash; check every instance's chain, every seal and every
        tree head (each root recomputed from the log, each head consistent with the next).

        With ``public_key`` (a key file's path, or raw bytes) every seal and tree head must
        carry a valid Ed25519 signature by that key. ``against``: a witness file of heads
        kept outside the store (``socieux audit heads --witness``), each checked against the
        log. On a writable store the run is recorded (see :meth:`verify_runs`) under
        ``command`` (default ``"Engine.verify"``). See ``docs/audit.md``.
        """
        if public_key is not None:
            args.check_path("public_key", public_key, raw=True)
        if against is not None:
            args.check_path("against", against)
        if command is not None:
            args.check_str("command", command)
        return self._audit.verify(
            public_key=public_key, progress=_progress(progress), against=against,
            command=command or "Engine.verify",
        )  # fmt: skip

    def verify_runs(self, limit: int = 20) -> list[VerifyRun]:
        """The latest ``limit`` verifications recorded on this store, newest first."""
        args.check_int("limit", limit, minimum=1)
        return self._audit.verify_runs(limit)

    @staticmethod
    def verify_bundle(
        path: str | os.PathLike[str], *, public_key: PublicKey | None = None
    ) -> IntegrityReport:
        """Check a proof bundle (``socieux audit prove``) offline, with no database."""
        from engine.audit.service import verify_bundle_file

        args.check_path("path", path)
        if public_key is not None:
            args.check_path("public_key", public_key, raw=True)
        return verify_bundle_file(path, public_key=public_key)

    def head(self, *, key: str | os.PathLike[str] | None = None, rebuild: bool = False) -> TreeHead:
        """Catch the log's Merkle tree up and record a tree head: its size, root and time,
        signed with the Ed25519 key file ``key`` when given. ``rebuild`` rebuilds the
        stored tree from the log first."""
        if key is not None:
            args.check_path("key", key)
        return self._audit.head(key=key, rebuild=bool(rebuild))

    def heads(self) -> list[TreeHead]:
        """Every recorded tree head, oldest first."""
        return self._audit.heads()

    def prove(
        self, instance_id: UUID | str, out: TextIO, *, head: int | None = None
    ) -> BundleSummary:
        """Write to ``out`` the proof bundle of one request: its events, the definitions they
        pin and each event's inclusion proof against tree head ``head`` (default: the
        latest), which ``socieux audit verify --bundle`` checks offline."""
        if not callable(getattr(out, "write", None)):
            raise InvalidArgument("out must be a text stream (with write)", argument="out")
        if head is not None:
            args.check_int("head", head, minimum=1)
        return self._audit.prove(out, instance=self._reader.id(instance_id), head=head)

    def consistency(self, old: int | str, new: int | str) -> ConsistencyProof:
        """The RFC 9162 consistency proof from tree head ``old`` to ``new``, and whether it
        verifies. Each is a recorded head's number or a witness line kept elsewhere."""
        return self._audit.consistency(_head_ref("old", old), _head_ref("new", new))

    @staticmethod
    def verify_file(
        path: str | os.PathLike[str], *, public_key: PublicKey | None = None
    ) -> IntegrityReport:
        """Check an export (``socieux audit export``) offline, with no database."""
        from engine.audit.service import verify_export_file

        args.check_path("path", path)
        if public_key is not None:
            args.check_path("public_key", public_key, raw=True)
        return verify_export_file(path, public_key=public_key)

    def seal(self, *, key: str | os.PathLike[str] | None = None) -> Seal:
        """Record a seal of the whole log as it is now, signed with the Ed25519 key file ``key``."""
        if key is not None:
            args.check_path("key", key)
        return self._audit.seal(key=key)

    def seals(self) -> list[Seal]:
        """Every recorded seal, oldest first."""
        return self._audit.seals()

    def export(
        self,
        out: TextIO,
        *,
        instance: UUID | str | None = None,
        since: datetime | None = None,
        progress: Progress | None = None,
    ) -> ExportSummary:
        """Write the log (or one instance, or the log from ``since`` on) and its seals to
        ``out`` as JSON Lines that ``socieux audit verify --file`` checks offline."""
        if not callable(getattr(out, "write", None)):
            raise InvalidArgument("out must be a text stream (with write)", argument="out")
        if since is not None:
            args.check_datetime("since", since)
        iid = self._reader.id(instance) if instance is not None else None
        return self._audit.export(out, instance=iid, since=since, progress=_progress(progress))

    def explain(self, instance_id: UUID | str, version: int) -> Explanation:
        """Who fired version ``version`` of an instance, with which role and reason, which
        guards ran, what each read, and whether the stored event's hash recomputes."""
        args.check_int("version", version, minimum=1)
        return self._audit.explain(self._reader.id(instance_id), version)

    def diff(self, instance_id: UUID | str, since: datetime, until: datetime) -> StateDiff:
        """What changed in an instance's state and data between two times, and by which steps."""
        args.check_datetime("since", since)
        args.check_datetime("until", until)
        return self._audit.diff(self._reader.id(instance_id), since, until)

    def replay_check(self, *, progress: Callable[[int], None] | None = None) -> ReplayReport:
        """Rebuild every instance from zero against the definitions installed now, and
        report each one that can no longer be replayed."""
        return self._audit.replay_check(progress=_progress(progress))


def _head_ref(name: str, ref: int | str) -> HeadRef:
    """A head number, or a witness line parsed (``InvalidArgument`` if it is neither)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        args.check_int(name, ref, minimum=1)
        return ref
    if not isinstance(ref, str):
        raise InvalidArgument(f"{name} must be a head number or a witness line", argument=name)
    from engine.audit.offline.tree_head import parse_witness

    try:
        heads = parse_witness(ref)
    except ValueError as exc:
        raise InvalidArgument(f"{name}: {exc}", argument=name) from None
    if len(heads) != 1:
        raise InvalidArgument(f"{name} must be exactly one witness line", argument=name)
    return heads[0]


def _progress(progress: T) -> T:
    if progress is not None:
        args.check_callable("progress", progress)
    return progress
